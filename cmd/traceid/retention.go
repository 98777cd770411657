package main

import "time"

// defaultRetention is how long the logs are taken to be kept when
// neither -retention nor a store says: the contract's 30 days.
const defaultRetention = 30 * 24 * time.Hour
