package api

// Exposure exports exposure for tests.
var Exposure = exposure
