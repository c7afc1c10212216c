package host

import (
	"math"
	"time"

	"github.com/verdictpdp/verdict/host/internal/module"
)

// MaxCallFuel is the most fuel one guest call gets: Fuel + ItemsPerCall ×
// FuelPerItem + InputBytesPerCall × FuelPerInputByte (148.6 million by
// default). It bounds how long any call runs, hence how long a garbage
// collection's stop-the-world can wait for the guests running (about 100
// ms by default on a 2-core machine: README "Reliability", row 9). Load
// stages get module.LoadFuelFactor times as much.
func (c Config) MaxCallFuel() int64 {
	return addSat(c.Fuel, addSat(mulSat(int64(c.ItemsPerCall), c.FuelPerItem),
		mulSat(int64(c.InputBytesPerCall), c.FuelPerInputByte)))
}

// callBudget is the budget of a call of items items and inputBytes bytes of
// input: Fuel plus what its size earns, at most MaxCallFuel, and a
// wall-clock backstop of CallTimeout scaled as its fuel is. The call is
// sized when its size earned more than Fuel: a trap or running out of fuel
// is then explained by the size of the request, not held against the
// module (README "Reliability", row 19).
func (c Config) callBudget(items, inputBytes int) module.Budget {
	size := addSat(mulSat(int64(items), c.FuelPerItem), mulSat(int64(inputBytes), c.FuelPerInputByte))
	fuel := min(addSat(c.Fuel, size), c.MaxCallFuel())
	timeout := c.CallTimeout
	if scale := float64(fuel) / float64(c.Fuel); scale > 1 {
		timeout = time.Duration(float64(c.CallTimeout) * scale)
	}
	return module.Budget{Fuel: fuel, Timeout: timeout, Sized: size > c.Fuel}
}

// addSat adds non-negative a and b, saturating at the largest int64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// mulSat multiplies non-negative a and b, saturating at the largest int64.
func mulSat(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}
