package httpapi

import (
	"net/http"
	"slices"
)

// cors answers preflights and marks responses for the allowed origins of
// cfg.CORS. Requests from other origins get no CORS headers (browsers then
// refuse them); requests without an Origin pass through untouched.
func (s *server) cors(next http.Handler) http.Handler {
	if len(s.cfg.CORS.Origins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(s.cfg.CORS.Origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := anyOrigin || slices.Contains(s.cfg.CORS.Origins, origin)
		h := w.Header()
		h.Add("Vary", "Origin")
		if allowed {
			if anyOrigin && !s.cfg.CORS.Credentials {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			if s.cfg.CORS.Credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// A preflight: answered here, before identity and routing.
			if allowed {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
