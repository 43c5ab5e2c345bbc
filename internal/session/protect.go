package session

import (
	"net/http"
	"strings"
)

// AllowProtectedHeader lets this request's SessionHeader write the keys
// Config.ProtectedKeys names. A handler in this process calls it when it
// has itself checked who may write them: the site's registration and
// password change, which log the user in through the SessionHeader. An
// external program (a CGI script, a proxied application) cannot call it,
// so its header cannot plant credentials (login CSRF through a link) unless
// the location opts in with Config.HeaderMayWriteProtected.
func AllowProtectedHeader(r *http.Request) {
	if st, ok := r.Context().Value(stateKey{}).(*state); ok {
		st.headerTrusted = true
	}
}

// withoutKeys removes from an urlencoded SessionHeader value the pieces
// that set or delete one of keys (compared as APR tables compare keys:
// ASCII case-insensitively, escaped or not), and returns the rest and the
// keys it removed.
func withoutKeys(encoded string, keys []string) (kept string, dropped []string) {
	var out []string
	for piece := range strings.SplitSeq(encoded, "&") {
		rawKey, _, _ := strings.Cut(strings.TrimLeft(piece, "="), "=")
		key, ok := Unescape(rawKey)
		if !ok {
			key = rawKey
		}
		if i := protectedIndex(keys, rawKey, key); i >= 0 {
			dropped = append(dropped, keys[i])
			continue
		}
		out = append(out, piece)
	}
	return strings.Join(out, "&"), dropped
}

func protectedIndex(keys []string, raw, unescaped string) int {
	for i, k := range keys {
		if equalFold(k, raw) || equalFold(k, unescaped) {
			return i
		}
	}
	return -1
}

// cacheControl marks a 2xx response that carries a session as private,
// as httpd's mod_session does, but as one header: a handler's stricter
// no-store is kept rather than followed by a second, weaker header.
func cacheControl(h http.Header) {
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				h.Set("Cache-Control", "no-store")
				return
			}
		}
	}
	h.Set("Cache-Control", "no-cache, private")
}
