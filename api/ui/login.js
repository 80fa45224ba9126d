"use strict";
// The token page: the server answered / with 401. A token this tab already
// holds (a reload after the page dropped ?token= from the address bar) is
// tried once; otherwise the form asks for one.
(() => {
  const KEY = "meshobs.token";
  const TRIED = "meshobs.token.tried";
  const go = (tok) => location.replace("?token=" + encodeURIComponent(tok) + location.hash);
  const held = sessionStorage.getItem(KEY);
  if (held && !sessionStorage.getItem(TRIED)) {
    sessionStorage.setItem(TRIED, "1");
    go(held);
    return;
  }
  sessionStorage.removeItem(TRIED);
  sessionStorage.removeItem(KEY);
  document.getElementById("login").addEventListener("submit", (e) => {
    e.preventDefault();
    go(document.getElementById("token").value.trim());
  });
})();
