package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The UI's plain files, as they are in the repository: index.html opened
// from disk works as it is (next to a running API it would need the token
// and the API's origin; the server is the way to use it).
//
//go:embed ui/*.html ui/*.js ui/*.css ui/vendor/*.js
var uiFiles embed.FS

// page is one HTML document with its scripts and style inlined, and the
// Content-Security-Policy that allows exactly those scripts.
type page struct {
	body []byte
	csp  string
}

func (p *page) serve(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("Content-Length", strconv.Itoa(len(p.body)))
	w.WriteHeader(status)
	_, _ = w.Write(p.body)
}

var (
	scriptTag = regexp.MustCompile(`<script src="([^"]+)"></script>`)
	styleTag  = regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`)
)

// uiPages are the UI and the token page.
type uiPages struct{ ui, login *page }

// buildPages builds the pages once.
var buildPages = sync.OnceValues(func() (uiPages, error) {
	ui, err := inline("index.html")
	if err != nil {
		return uiPages{}, err
	}
	login, err := inline("login.html")
	return uiPages{ui, login}, err
})

func pages() (ui, login *page, err error) {
	p, err := buildPages()
	return p.ui, p.login, err
}

// inline returns ui/name with every <script src> and stylesheet <link>
// replaced by the file's content, so the page is one response: the only
// URL that needs the token is the page's own.
func inline(name string) (*page, error) {
	doc, err := uiFiles.ReadFile("ui/" + name)
	if err != nil {
		return nil, err
	}
	var hashes []string
	var ferr error
	embedFile := func(tag, ref []byte, elem string) []byte {
		src := string(ref)
		b, err := uiFiles.ReadFile("ui/" + src)
		if err != nil {
			ferr = err
			return tag
		}
		if bytes.Contains(bytes.ToLower(b), []byte("</"+elem)) {
			ferr = fmt.Errorf("%s contains </%s and cannot be inlined", src, elem)
			return tag
		}
		if elem == "script" {
			sum := sha256.Sum256(b)
			hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		out := append([]byte("<"+elem+">"), b...)
		return append(out, "</"+elem+">"...)
	}
	doc = scriptTag.ReplaceAllFunc(doc, func(tag []byte) []byte {
		return embedFile(tag, scriptTag.FindSubmatch(tag)[1], "script")
	})
	doc = styleTag.ReplaceAllFunc(doc, func(tag []byte) []byte {
		return embedFile(tag, styleTag.FindSubmatch(tag)[1], "style")
	})
	if ferr != nil {
		return nil, ferr
	}
	csp := "default-src 'none'; script-src " + strings.Join(hashes, " ") +
		"; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return &page{body: doc, csp: csp}, nil
}
