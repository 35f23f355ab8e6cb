package corpus

import "strconv"

// drawNeedles draws a task's keys and values and writes its needle
// sentences. Keys are distinct, and every value differs from every other, so
// no distractor can equal an answer.
func drawNeedles(r *rng, task, kind string, n int) needles {
	var nd needles
	usedKey := map[string]bool{}
	key := func() string {
		for {
			k := pick(r, keyAdjectives) + "-" + pick(r, keyNouns)
			if !usedKey[k] {
				usedKey[k] = true
				return k
			}
		}
	}
	usedVal := map[string]bool{}
	value := func() string {
		for {
			v := drawValue(r, kind)
			if !usedVal[v] {
				usedVal[v] = true
				nd.values = append(nd.values, v)
				return v
			}
		}
	}
	switch task {
	case TaskSingle:
		k, v := key(), value()
		nd.stmts = []stmt{{text: needleText(kind, k, v), main: true}}
		nd.askKeys = []string{k}
		nd.expected = []string{v}
	case TaskMultiKey:
		k, v := key(), value()
		nd.stmts = []stmt{{text: needleText(kind, k, v), main: true}}
		for i := 0; i < n; i++ {
			nd.stmts = append(nd.stmts, stmt{text: needleText(kind, key(), value())})
		}
		nd.askKeys = []string{k}
		nd.expected = []string{v}
	case TaskMultiValue:
		k := key()
		for i := 0; i < n; i++ {
			v := value()
			nd.stmts = append(nd.stmts, stmt{text: needleText(kind, k, v), main: i == 0})
			nd.expected = append(nd.expected, v)
		}
		nd.askKeys = []string{k}
	case TaskMultiQuery:
		for i := 0; i < n; i++ {
			k, v := key(), value()
			nd.stmts = append(nd.stmts, stmt{text: needleText(kind, k, v), main: i == 0})
			nd.askKeys = append(nd.askKeys, k)
			nd.expected = append(nd.expected, v)
		}
	case TaskLatent:
		return drawLatent(r, n)
	case TaskChain:
		usedName := map[string]bool{}
		name := func() string {
			for {
				var b [5]byte
				for i := range b {
					b[i] = varLetters[r.intn(len(varLetters))]
				}
				if s := string(b[:]); !usedName[s] {
					usedName[s] = true
					return s
				}
			}
		}
		chain := func(order int, main bool) (first, last string) {
			v := ""
			for v == "" || usedVal[v] {
				v = strconv.Itoa(10000 + r.intn(90000))
			}
			usedVal[v] = true
			nd.values = append(nd.values, v)
			prev := name()
			first = v
			o := 0
			if !main {
				o = order
			}
			nd.stmts = append(nd.stmts, stmt{text: chainText(prev, v), main: main, order: o})
			for i := 1; i < n; i++ {
				cur := name()
				nd.stmts = append(nd.stmts, stmt{text: chainText(cur, varLead+prev), order: order})
				prev = cur
			}
			return first, prev
		}
		v, last := chain(1, true)
		chain(2, false)
		nd.askKeys = []string{last}
		nd.expected = []string{v}
	}
	return nd
}

// drawValue draws one value of a kind.
func drawValue(r *rng, kind string) string {
	switch kind {
	case KindUUID:
		const hex = "0123456789abcdef"
		var b [36]byte
		x, y := r.next(), r.next()
		j := 0
		for i := 0; i < 36; i++ {
			switch i {
			case 8, 13, 18, 23:
				b[i] = '-'
				continue
			}
			var nib uint64
			if j < 16 {
				nib = x >> (4 * j) & 15
			} else {
				nib = y >> (4 * (j - 16)) & 15
			}
			j++
			b[i] = hex[nib]
		}
		b[14] = '4'
		b[19] = hex[8+r.intn(4)]
		return string(b[:])
	case KindWord:
		return pick(r, valueWords)
	default:
		return strconv.Itoa(1000000 + r.intn(9000000))
	}
}
