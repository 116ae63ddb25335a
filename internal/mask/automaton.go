package mask

// This file is a hand-written Aho-Corasick automaton. The maintained Go
// libraries (cloudflare/ahocorasick, petar-dambovaliev/aho-corasick) search a
// whole []byte at a time and keep no state between calls. The streaming
// writer needs the opposite: feed bytes as they arrive, carry the state over
// to the next Write, and ask "how long is the match that may still be in
// progress" so that everything before it can be written out at once instead
// of holding back a window of the longest pattern's length. It also needs
// bytes that are ignored (line breaks inside wrapped base64, the \r a pty
// adds), which no library offers.
//
// Layout: nodes are numbered in breadth-first order, so shallow nodes, where
// ordinary text spends nearly all its time, come first and get a full
// transition row (one table load per byte). Deeper nodes keep only their
// trie edges and fall back along failure links; they are reached only while
// the text really follows a pattern.

const (
	skipClass  = 0 // bytes the automaton ignores: the state does not move
	otherClass = 1 // bytes that occur in no pattern

	// Dense rows are built for whole trie levels while the table stays
	// under this many entries (4 bytes each).
	denseBudget = 4 << 20
	maxDenseLvl = 6
)

type automaton struct {
	class [256]int32
	skip  [256]bool
	ncls  int

	// dense[code+class] is the code of the next state, for dense states
	// (see code below).
	dense      []int32
	ndense     int32
	sparseBase int32 // ndense*ncls; codes at or above it are sparse states

	// Trie edges for every node in compressed-row form.
	edgeStart []int32
	edgeCls   []uint16
	edgeTo    []int32

	fail  []int32
	depth []int32 // symbols from the root
	// mlen and mlab describe the longest pattern that ends at the node
	// (itself or through a failure link); mlen 0 means none. Only the
	// longest is needed: shorter ones ending at the same byte lie inside it.
	mlen []int32
	mlab []int32
}

// match is a pattern occurrence: the index of its last byte in the scanned
// slice, its length in symbols (skipped bytes not counted) and its label.
type match struct {
	end int
	n   int32
	lab int32
}

type trieNode struct {
	first, next int32 // first child, next sibling
	cls         uint16
	lab         int32 // pattern label ending here, or -1
}

// newAutomaton builds the automaton for patterns; a match's label is the
// pattern's index. Bytes in skip must not occur in any pattern.
func newAutomaton(patterns [][]byte, skip []byte) *automaton {
	a := &automaton{}
	for _, b := range skip {
		a.skip[b] = true
	}
	var used [256]bool
	for _, p := range patterns {
		for _, b := range p {
			used[b] = true
		}
	}
	a.ncls = 2
	for b := range 256 {
		switch {
		case a.skip[b]:
			a.class[b] = skipClass
		case used[b]:
			a.class[b] = int32(a.ncls)
			a.ncls++
		default:
			a.class[b] = otherClass
		}
	}

	nodes := []trieNode{{first: -1, next: -1, lab: -1}}
	childOf := func(n int32, c uint16) int32 {
		for k := nodes[n].first; k >= 0; k = nodes[k].next {
			if nodes[k].cls == c {
				return k
			}
		}
		return -1
	}
	for i, p := range patterns {
		n := int32(0)
		for _, b := range p {
			c := uint16(a.class[b])
			k := childOf(n, c)
			if k < 0 {
				k = int32(len(nodes))
				nodes = append(nodes, trieNode{first: -1, next: nodes[n].first, cls: c, lab: -1})
				nodes[n].first = k
			}
			n = k
		}
		nodes[n].lab = int32(i)
	}

	// Breadth-first renumbering, recording each node's parent edge.
	count := len(nodes)
	order := make([]int32, 0, count) // new id -> old id
	order = append(order, 0)
	newID := make([]int32, count)
	a.depth = make([]int32, count)
	for head := 0; head < len(order); head++ {
		old := order[head]
		for k := nodes[old].first; k >= 0; k = nodes[k].next {
			newID[k] = int32(len(order))
			a.depth[len(order)] = a.depth[head] + 1
			order = append(order, k)
		}
	}

	a.edgeStart = make([]int32, count+1)
	a.edgeCls = make([]uint16, 0, count-1)
	a.edgeTo = make([]int32, 0, count-1)
	for id, old := range order {
		a.edgeStart[id] = int32(len(a.edgeTo))
		for k := nodes[old].first; k >= 0; k = nodes[k].next {
			a.edgeCls = append(a.edgeCls, nodes[k].cls)
			a.edgeTo = append(a.edgeTo, newID[k])
		}
	}
	a.edgeStart[count] = int32(len(a.edgeTo))

	a.fail = make([]int32, count)
	a.mlen = make([]int32, count)
	a.mlab = make([]int32, count)
	for id := range count {
		for e := a.edgeStart[id]; e < a.edgeStart[id+1]; e++ {
			child, c := a.edgeTo[e], a.edgeCls[e]
			if id != 0 {
				f := a.fail[id]
				for {
					if k := a.edge(f, c); k >= 0 {
						a.fail[child] = k
						break
					}
					if f == 0 {
						break
					}
					f = a.fail[f]
				}
			}
		}
		// Parents precede children, so fail[id] is final by now and its
		// match data is already computed (it is shallower).
		if lab := nodes[order[id]].lab; lab >= 0 {
			a.mlen[id], a.mlab[id] = a.depth[id], lab
		} else if id != 0 {
			a.mlen[id], a.mlab[id] = a.mlen[a.fail[id]], a.mlab[a.fail[id]]
		}
	}

	// Dense rows for whole levels while the budget allows.
	nd := 1
	for lvl := int32(1); lvl <= maxDenseLvl; lvl++ {
		end := nd
		for end < count && a.depth[end] == lvl {
			end++
		}
		if end == nd || end*a.ncls > denseBudget {
			break
		}
		nd = end
	}
	a.ndense = int32(nd)
	a.sparseBase = int32(nd * a.ncls)
	a.dense = make([]int32, nd*a.ncls)
	for s := range nd {
		row := a.dense[s*a.ncls : (s+1)*a.ncls]
		for c := range a.ncls {
			switch {
			case c == skipClass:
				row[c] = int32(s * a.ncls)
			case s == 0:
				row[c] = 0
			default:
				row[c] = a.dense[int(a.fail[s])*a.ncls+c]
			}
		}
		for e := a.edgeStart[s]; e < a.edgeStart[s+1]; e++ {
			row[a.edgeCls[e]] = a.encode(a.edgeTo[e])
		}
	}
	return a
}

func (a *automaton) edge(n int32, c uint16) int32 {
	for e := a.edgeStart[n]; e < a.edgeStart[n+1]; e++ {
		if a.edgeCls[e] == c {
			return a.edgeTo[e]
		}
	}
	return -1
}

// A state is carried as a code: for a dense node, its row offset in dense
// (id*ncls), so a step is one load with no multiply on the critical path;
// for a sparse node, sparseBase+id. A negative code ^c means the step just
// taken ends a pattern.
func (a *automaton) code(id int32) int32 {
	if id < a.ndense {
		return id * int32(a.ncls)
	}
	return a.sparseBase + id
}

func (a *automaton) id(code int32) int32 {
	if code < a.sparseBase {
		return code / int32(a.ncls)
	}
	return code - a.sparseBase
}

func (a *automaton) encode(id int32) int32 {
	if a.mlen[id] > 0 {
		return ^a.code(id)
	}
	return a.code(id)
}

// slow is the transition out of a sparse (deep) state.
func (a *automaton) slow(code int32, c int32) int32 {
	if c == skipClass {
		return code
	}
	id := code - a.sparseBase
	for {
		if id < a.ndense {
			return a.dense[id*int32(a.ncls)+c]
		}
		if k := a.edge(id, uint16(c)); k >= 0 {
			return a.encode(k)
		}
		id = a.fail[id]
	}
}

func (a *automaton) found(ms []match, i int, code int32) []match {
	id := a.id(code)
	return append(ms, match{end: i, n: a.mlen[id], lab: a.mlab[id]})
}

// depthOf is how many symbols of a possible match the state has seen.
func (a *automaton) depthOf(code int32) int32 { return a.depth[a.id(code)] }

// scan feeds data to the automaton from state s (a code), appends the
// longest match ending at each byte to ms, and returns the new state.
func (a *automaton) scan(s int32, data []byte, ms []match) (int32, []match) {
	dense, limit, class := a.dense, a.sparseBase, &a.class
	for i, b := range data {
		e := s
		if s < limit {
			e = dense[s+class[b]]
		} else {
			e = a.slow(s, class[b])
		}
		if e < 0 {
			s = ^e
			ms = a.found(ms, i, s)
		} else {
			s = e
		}
	}
	return s, ms
}

// back returns the index in data of the n-th symbol counted backwards from
// index end (inclusive), skipped bytes not counted, or -1 when data begins
// before n symbols are found.
func (a *automaton) back(data []byte, end int, n int32) int {
	if n <= 0 {
		return end + 1
	}
	for i := end; i >= 0; i-- {
		if !a.skip[data[i]] {
			n--
			if n == 0 {
				return i
			}
		}
	}
	return -1
}
