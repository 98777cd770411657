package apierror

import "net/http"

// StatusClientClosedRequest is the status [From] gives to context.Canceled:
// the client went away before the response was written. It is the
// non-standard 499 that nginx introduced; no client ever reads it, but logs
// and metrics can tell it apart from real failures.
const StatusClientClosedRequest = 499

// Title returns the envelope "message" that the 360X contract gives status:
// the page's titles for its table ("Invalid Token", "Generic Error", …), the
// standard status text for other statuses, and "Error" for a status that has
// none.
func Title(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Validation Error"
	case http.StatusUnauthorized:
		return "Invalid Token"
	case http.StatusForbidden:
		return "Unauthorized Action"
	case StatusClientClosedRequest:
		return "Client Closed Request"
	case http.StatusInternalServerError:
		return "Generic Error"
	case http.StatusServiceUnavailable:
		return "Connection Error"
	case http.StatusGatewayTimeout:
		return "There was a generic error"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// PublicDetail returns the fixed sentence that a 5xx body carries as its
// "error" member in place of any internal detail. For a 4xx it returns "".
func PublicDetail(status int) string {
	switch status {
	case http.StatusInternalServerError:
		return "The server encountered an unexpected error. Quote the id to 360X support."
	case http.StatusBadGateway:
		return "An upstream service failed to answer the request. Quote the id to 360X support."
	case http.StatusServiceUnavailable:
		return "The service is temporarily unavailable. Try again later."
	case http.StatusGatewayTimeout:
		return "The request took too long to complete. Try again later."
	}
	if status >= 500 && status <= 599 {
		return "The server could not complete the request. Quote the id to 360X support."
	}
	return ""
}

// defaultDetail is the "error" member of a 4xx built without a detail.
func defaultDetail(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "The request is invalid."
	case http.StatusUnauthorized:
		return "Token is invalid"
	case http.StatusForbidden:
		return "Authorization is required."
	case http.StatusNotFound:
		return "The requested resource was not found."
	case StatusClientClosedRequest:
		return "The client closed the request before the response was written."
	}
	if t := http.StatusText(status); t != "" {
		return t + "."
	}
	return "The request failed."
}
