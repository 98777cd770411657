package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierrortest"
)

func testApp() *app {
	return &app{
		store:        newStore(time.Unix(0, 0)),
		tokens:       map[string]string{"alice-token": "alice"},
		pricingURL:   "http://127.0.0.1:1",
		fxURL:        "http://127.0.0.1:1",
		quoteTimeout: time.Second,
		client:       http.DefaultClient,
		now:          time.Now,
	}
}

// TestRoutesSweep: every route's wrong method and an unknown route answer
// with the envelope, behind authentication.
func TestRoutesSweep(t *testing.T) {
	logs := apierrortest.NewLogCapture()
	h := testApp().routes(logs.Logger(), rateLimit{1000, time.Minute})
	apierrortest.Sweep(t, h, h.(chi.Routes), apierrortest.WithHeader("Authorization", "Bearer alice-token"))

	// Without the token, the same requests are 401s: authentication comes
	// before routing.
	resp := apierrortest.Serve(h, httptest.NewRequest("PUT", "/api/v1/participant/offers", nil))
	apierrortest.AssertEnvelope(t, resp, http.StatusUnauthorized)
}

// TestValidationAfterAuthorization: a request that fails authentication
// learns nothing about its invalid attributes.
func TestValidationAfterAuthorization(t *testing.T) {
	logs := apierrortest.NewLogCapture()
	h := testApp().routes(logs.Logger(), rateLimit{1000, time.Minute})
	req := httptest.NewRequest("POST", "/api/v1/participant/offers", strings.NewReader(`{"price":-1}`))
	req.Header.Set("Content-Type", "application/json")
	resp := apierrortest.Serve(h, req)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusUnauthorized)
	assert.NotContains(t, env.Error, "price")
}

func TestDecodeJSONHostileBodies(t *testing.T) {
	h := testApp().routes(apierrortest.NewLogCapture().Logger(), rateLimit{1000, time.Minute})
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"nested 100000 deep", strings.Repeat(`{"a":`, 100000), http.StatusBadRequest},
		{"10 MB string", `{"product":"` + strings.Repeat("x", 10<<20) + `"}`, http.StatusRequestEntityTooLarge},
		{"two objects", `{"product":"a","price":1,"currency":"EUR","quantity":1} {}`, http.StatusBadRequest},
		{"empty", ``, http.StatusBadRequest},
		{"array", `[1]`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/v1/participant/offers", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer alice-token")
			resp := apierrortest.Serve(h, req)
			env := apierrortest.AssertEnvelope(t, resp, tt.status)
			assert.NotContains(t, env.Error, "main.", "no Go type names in a detail")
		})
	}
}

func TestParseConfigEnvFallback(t *testing.T) {
	env := map[string]string{"OFFERS_ADDR": "127.0.0.1:9999", "OFFERS_RATE_LIMIT": "5/10s", "OFFERS_LOG_FORMAT": "console"}
	c, err := parseConfig([]string{"-log-format", "json"}, func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", c.addr)
	assert.Equal(t, rateLimit{5, 10 * time.Second}, c.rateLimit)
	assert.Equal(t, "json", c.logFormat, "a flag wins over its variable")
	assert.True(t, c.defaultToken)
}

// TestStoreIsBounded: past its cap the store answers 507, and the list a
// GET returns stops growing.
func TestStoreIsBounded(t *testing.T) {
	logs := apierrortest.NewLogCapture()
	h := testApp().routes(logs.Logger(), rateLimit{1 << 20, time.Minute})
	post := func() *http.Response {
		req := httptest.NewRequest("POST", "/api/v1/participant/offers", strings.NewReader(`{"product":"bolt","price":1.5,"currency":"EUR","quantity":3}`))
		req.Header.Set("Authorization", "Bearer alice-token")
		req.Header.Set("Content-Type", "application/json")
		return apierrortest.Serve(h, req)
	}
	for range maxOffers - 4 { // the store starts with 4 offers
		require.Equal(t, http.StatusCreated, post().StatusCode)
	}
	env := apierrortest.AssertEnvelope(t, post(), http.StatusInsufficientStorage)
	assert.Equal(t, "Insufficient Storage", env.Message)

	list := httptest.NewRequest("GET", "/api/v1/participant/offers", nil)
	list.Header.Set("Authorization", "Bearer alice-token")
	resp := apierrortest.Serve(h, list)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	n, err := io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	assert.Less(t, n, int64(300<<10), "the list stays under 300 KB")
}

// TestQuoteClientHasNoHiddenTimeout: -quote-timeout alone limits the calls.
func TestQuoteClientHasNoHiddenTimeout(t *testing.T) {
	cfg, err := parseConfig([]string{"-quote-timeout", "15s"}, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, 15*time.Second, cfg.quoteTimeout)
}
