package conditions

import (
	"strconv"

	"github.com/verdictpdp/verdict/internal/wire"
)

// chunk is reqs[from:to] encoded as one body.
type chunk struct {
	from, to int
	body     []byte
}

// chunks encodes reqs into bodies of at most MaxBodyBytes (an item bigger
// than that alone goes in a body of its own: the plugin decides). Item ids
// are the requests' indexes, so that answers can be checked.
func (c *Client) chunks(pluginID string, reqs []Request) []chunk {
	const head, tail = `{"items":[`, `]}`
	var out []chunk
	cur := chunk{body: append([]byte(nil), head...)}
	for i := range reqs {
		item := encodeItem(nil, strconv.Itoa(i), pluginID, &reqs[i])
		sep := 0
		if i > cur.from {
			sep = 1
		}
		if i > cur.from && len(cur.body)+sep+len(item)+len(tail) > c.cfg.MaxBodyBytes {
			cur.to = i
			cur.body = append(cur.body, tail...)
			out = append(out, cur)
			cur = chunk{from: i, body: append([]byte(nil), head...)}
			sep = 0
		}
		if sep == 1 {
			cur.body = append(cur.body, ',')
		}
		cur.body = append(cur.body, item...)
	}
	if len(reqs) > cur.from {
		cur.to = len(reqs)
		cur.body = append(cur.body, tail...)
		out = append(out, cur)
	}
	return out
}

// encodeItem appends one apply-conditions item. Like Backstage's, it
// carries the decision's result and pluginId too (plugins strip them).
func encodeItem(b []byte, id, pluginID string, r *Request) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, id)
	b = append(b, `,"resourceRef":`...)
	if r.Array {
		b = append(b, '[')
		for i, ref := range r.Refs {
			if i > 0 {
				b = append(b, ',')
			}
			b = wire.AppendString(b, ref)
		}
		b = append(b, ']')
	} else {
		b = wire.AppendString(b, r.Refs[0])
	}
	b = append(b, `,"result":"CONDITIONAL","pluginId":`...)
	b = wire.AppendString(b, pluginID)
	b = append(b, `,"resourceType":`...)
	b = wire.AppendString(b, r.ResourceType)
	b = append(b, `,"conditions":`...)
	b = append(b, r.Conditions...)
	return append(b, '}')
}
