package main

// Building the Backstage adapter (host/backstage) from the settings, and
// wording its refusals as configuration keys.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/verdictpdp/verdict/host/backstage"
)

// newAdapter builds the Backstage adapter from st, opening the decision
// log's sink; the returned function closes the sink (after the adapter).
func newAdapter(ctx context.Context, st *settings, log *slog.Logger) (*backstage.Server, func(), error) {
	cfg, closeSink, err := adapterConfig(st)
	if err != nil {
		return nil, nil, err
	}
	handler, err := backstage.New(ctx, cfg, log)
	if err != nil {
		closeSink()
		return nil, nil, adapterError(err)
	}
	return handler, closeSink, nil
}

// adapterConfig turns st into the adapter's configuration, opening the
// decision log's sink; the returned function closes it.
func adapterConfig(st *settings) (backstage.Config, func(), error) {
	cfg := backstage.Config{
		Engine: st.Host, HTTP: st.HTTP,
		Discovery: st.Backstage.Discovery, Identity: st.Backstage.Identity, Conditions: st.Backstage.Conditions,
		MintTokens: st.Backstage.minting(), PluginKeys: st.Backstage.PluginKeys,
		DecisionLogBuffer: st.DecisionLog.Buffer,
	}
	w, closeSink, err := openSink(st.DecisionLog.Sink)
	cfg.DecisionLog = w
	return cfg, closeSink, err
}

// openSink opens the decision log's sink: nil for "off". The returned
// function closes it (after the adapter has written what it holds).
func openSink(sink string) (io.Writer, func(), error) {
	switch sink {
	case "off":
		return nil, func() {}, nil
	case "stdout":
		return os.Stdout, func() {}, nil
	case "stderr":
		return os.Stderr, func() {}, nil
	}
	f, err := os.OpenFile(sink, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("decisionLog.sink: %w", err)
	}
	return f, func() { _ = f.Close() }, nil
}

// adapterError words the adapter's refusals as the configuration keys
// they come from.
func adapterError(err error) error {
	var ce *backstage.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Part {
	case backstage.PartDiscovery:
		return fmt.Errorf("backstage discovery: %w", ce.Err)
	case backstage.PartIdentity:
		return fmt.Errorf("backstage tokens: %w", ce.Err)
	case backstage.PartConditions:
		return fmt.Errorf("backstage apply-conditions: %w", ce.Err)
	case backstage.PartPluginKeys:
		return renameKeys(ce.Err, pluginKeysKey)
	}
	return err
}
