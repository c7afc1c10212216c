package module

import "context"

// get returns an idle instance or a new one.
func (m *Module) get(ctx context.Context) (*instance, error) {
	select {
	case inst := <-m.idle:
		return inst, nil
	default:
		return m.newInstance(ctx)
	}
}

func (m *Module) put(inst *instance) {
	if m.closed.Load() {
		inst.close(context.Background())
		return
	}
	select {
	case m.idle <- inst:
	default:
		inst.close(context.Background())
	}
}

func (m *Module) discard(ctx context.Context, inst *instance) {
	m.count.discarded.Add(1)
	inst.close(ctx)
}
