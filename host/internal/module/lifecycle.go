package module

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/meter"
)

// newInstance instantiates the compiled module and runs _initialize and
// verdict_configure, bounded by LoadTimeout.
func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	if m.closed.Load() {
		return nil, errors.New("module closed")
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.LoadTimeout)
	defer cancel()
	inst, err := m.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.initialise(ctx, inst); err != nil {
		inst.close(ctx)
		return nil, err
	}
	m.flushStdio(inst)
	return inst, nil
}

// instantiate instantiates the compiled module, its output captured and
// capped, and finds the exports and meter globals each call uses.
func (m *Module) instantiate(ctx context.Context) (*instance, error) {
	stdio := &capWriter{limit: m.opts.StdioBytes}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(stdio).
		WithStderr(stdio).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	fuel, ok := mod.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal)
	if !ok {
		_ = mod.Close(ctx)
		return nil, errors.New("instantiate: the fuel global is missing")
	}
	stackBudget, ok := mod.ExportedGlobal(meter.StackGlobal).(api.MutableGlobal)
	if !ok {
		_ = mod.Close(ctx)
		return nil, errors.New("instantiate: the stack budget global is missing")
	}
	inst := &instance{
		mod: mod, mem: mod.Memory(), stdio: stdio, fuel: fuel, stackBudget: stackBudget, states: &m.states,
		alloc:    mod.ExportedFunction(abi.AllocExport),
		free:     mod.ExportedFunction(abi.FreeExport),
		evaluate: mod.ExportedFunction(abi.EvaluateExport),
		desc:     mod.ExportedFunction(abi.DescribeExport),
	}
	inst.host.fuel = fuel
	m.states.Store(mod, &inst.host)
	return inst, nil
}

// initialise runs the load stages the module exports, _initialize then
// verdict_configure, each on LoadFuelFactor calls' worth of fuel.
func (m *Module) initialise(ctx context.Context, inst *instance) error {
	loadFuel := m.opts.Fuel * LoadFuelFactor
	if m.hasInit {
		inst.start(loadFuel)
		if err := inst.mod.ExportedFunction(abi.InitializeExport).CallWithStack(ctx, inst.stack[:]); err != nil {
			return fmt.Errorf("_initialize: %w", inst.classify(ctx, err))
		}
	}
	if m.hasConfigure {
		inst.start(loadFuel)
		return inst.configure(ctx, inst.mod.ExportedFunction(abi.ConfigureExport), m.configure)
	}
	return nil
}

// configure gives input, the settings envelope, to verdict_configure (fn)
// and checks its answer.
func (in *instance) configure(ctx context.Context, fn api.Function, input []byte) error {
	out, err := in.call(ctx, fn, input, 64<<10)
	if err != nil {
		return wrapLoad("verdict_configure", err)
	}
	var res abi.ConfigureOutput
	if err := json.Unmarshal(out, &res); err != nil {
		return wrapLoad("verdict_configure", callErr(KindBadOutput, "output is not JSON: %w", err))
	}
	if res.Error != nil {
		return &LoadError{Stage: "verdict_configure", Err: callErr(KindGuestError,
			"the module refused its settings: %s: %s", res.Error.Code, res.Error.Message)}
	}
	if !res.OK {
		return wrapLoad("verdict_configure", callErr(KindBadOutput, `output %.200q is neither {"ok":true} nor an error`, out))
	}
	return nil
}

// describe calls verdict_describe, bounded by timeout, and checks its
// output.
func (in *instance) describe(ctx context.Context, timeout time.Duration) (abi.Description, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := in.desc.CallWithStack(ctx, in.stack[:]); err != nil {
		return abi.Description{}, wrapLoad("verdict_describe", in.classify(ctx, err))
	}
	out, err := in.output(in.stack[0], 64<<10)
	if err != nil {
		return abi.Description{}, wrapLoad("verdict_describe", err)
	}
	return parseDescription(out)
}

// parseDescription checks verdict_describe's output.
func parseDescription(out []byte) (abi.Description, error) {
	var d abi.Description
	if err := json.Unmarshal(out, &d); err != nil {
		return d, fmt.Errorf("verdict_describe: output is not a description: %w", err)
	}
	major, _, _ := strings.Cut(d.ABI, ".")
	if major != "1" {
		return d, fmt.Errorf("verdict_describe: abi %q is not supported (this host speaks 1.x)", d.ABI)
	}
	return d, nil
}
