package jsonbody_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/jsonbody"
)

// newOffer is a model: json tags name the attributes, the "required" option
// marks the ones that must be there, Validate holds the domain rules.
type newOffer struct {
	Product  string  `json:"product" jsonbody:"required"`
	Price    float64 `json:"price" jsonbody:"required"`
	Currency string  `json:"currency" jsonbody:"required"`
}

func (o newOffer) Validate() []apierror.Attribute {
	if o.Price <= 0 {
		return []apierror.Attribute{apierror.Attr("price", "must be greater than 0")}
	}
	return nil
}

// One call reads the body; its error is the 360X answer, naming every
// offending attribute.
func ExampleDecode() {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/participant/offers", strings.NewReader(`{"product":1,"price":"x","currency":2}`))
	r.Header.Set("Content-Type", "application/json")

	var in newOffer
	err := jsonbody.Decode(httptest.NewRecorder(), r, &in)
	e := err.(*apierror.Error)
	fmt.Println(e.Status, e.Code)
	fmt.Println(e.Detail)
	// Output:
	// 400 invalid_model
	// product: must be a string; price: must be a number; currency: must be a string
}
