package verdict

import "strconv"

// request is the decoded input of verdict_evaluate. The Runner keeps one and
// reuses its slices from call to call.
type request struct {
	abi       int64
	principal Principal
	items     []Item
}

// decodeRequest decodes the input of verdict_evaluate into req, which is
// reset first. Unknown members are skipped whatever their shape; a known
// member with the wrong JSON type is an error; null leaves a member unset.
// This follows encoding/json's rules (which the reference policy uses) except
// that keys match case-sensitively and a repeated key overwrites rather than
// merges.
func decodeRequest(d *decoder, data []byte, req *request) error {
	d.reset(data)
	if d.intern == nil {
		d.intern = make(map[string]string)
	}
	items := req.items[:0]
	refs := req.principal.OwnershipEntityRefs[:0]
	*req = request{}
	req.principal.OwnershipEntityRefs = refs
	if d.null() {
		req.principal.OwnershipEntityRefs = nil
		return d.end()
	}
	sawRefs := false
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "abi":
			return d.int(&req.abi)
		case "principal":
			if d.null() {
				return nil
			}
			return decodePrincipal(d, &req.principal, &sawRefs)
		case "items":
			if d.null() {
				items = items[:0]
				req.items = nil
				return nil
			}
			items = items[:0]
			err := d.array(func() error {
				if len(items) < cap(items) {
					items = items[:len(items)+1]
					items[len(items)-1] = Item{}
				} else {
					items = append(items, Item{})
				}
				return decodeItem(d, &items[len(items)-1])
			})
			req.items = items
			return err
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	if !sawRefs {
		req.principal.OwnershipEntityRefs = nil
	}
	return d.end()
}

// int decodes an integer number (or null, which leaves *dst unchanged).
func (d *decoder) int(dst *int64) error {
	if d.null() {
		return nil
	}
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		return d.wrongType("want a number")
	}
	lit, err := d.number()
	if err != nil {
		return err
	}
	i, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return d.fail(errWantType, "want an integer")
	}
	*dst = i
	return nil
}

func decodePrincipal(d *decoder, p *Principal, sawRefs *bool) error {
	return d.object(func(key []byte) error {
		switch string(key) {
		case "type":
			return d.optStr(&p.Type)
		case "userEntityRef":
			return d.optStr(&p.UserEntityRef)
		case "ownershipEntityRefs":
			*sawRefs = true
			return d.strList(&p.OwnershipEntityRefs)
		case "subject":
			return d.optStr(&p.Subject)
		case "actor":
			if d.null() {
				p.Actor = nil
				return nil
			}
			if p.Actor == nil {
				p.Actor = &Actor{}
			}
			a := p.Actor
			return d.object(func(key []byte) error {
				switch string(key) {
				case "type":
					return d.optStr(&a.Type)
				case "subject":
					return d.optStr(&a.Subject)
				}
				return d.skip()
			})
		}
		return d.skip()
	})
}

func decodeItem(d *decoder, it *Item) error {
	if d.null() {
		return nil
	}
	return d.object(func(key []byte) error {
		switch string(key) {
		case "id":
			return d.optStr(&it.ID)
		case "resourceRef":
			if d.null() {
				it.ResourceRef, it.HasResourceRef = "", false
				return nil
			}
			s, err := d.str()
			it.ResourceRef, it.HasResourceRef = s, true
			return err
		case "permission":
			if d.null() {
				return nil
			}
			p := &it.Permission
			return d.object(func(key []byte) error {
				switch string(key) {
				case "type":
					return d.optStr(&p.Type)
				case "name":
					return d.optStr(&p.Name)
				case "resourceType":
					return d.optStr(&p.ResourceType)
				case "attributes":
					if d.null() {
						return nil
					}
					return d.object(func(key []byte) error {
						if string(key) == "action" {
							return d.optStr(&p.Attributes.Action)
						}
						return d.skip()
					})
				}
				return d.skip()
			})
		}
		return d.skip()
	})
}

// decodeConfigure decodes {"settings": any, "files": {name: text}}.
// Unknown members are skipped.
func decodeConfigure(data []byte) (Settings, error) {
	var d decoder
	d.reset(data)
	s := Settings{Files: map[string]string{}}
	if d.null() {
		return s, d.end()
	}
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "settings":
			d.skipSpace()
			start := d.off
			v, err := d.value()
			if err != nil {
				return err
			}
			if v.IsNull() {
				s.Raw, s.Value = nil, Value{}
				return nil
			}
			s.Raw = append([]byte(nil), d.data[start:d.off]...)
			s.Value = v
			return nil
		case "files":
			if d.null() {
				return nil
			}
			return d.object(func(key []byte) error {
				name := string(key)
				var text string
				if err := d.optStr(&text); err != nil {
					return err
				}
				s.Files[name] = text
				return nil
			})
		}
		return d.skip()
	})
	if err != nil {
		return Settings{}, err
	}
	return s, d.end()
}
