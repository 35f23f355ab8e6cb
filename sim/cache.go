package sim

import (
	"container/list"
	"sync"
)

// PrefixBlockTokens is the block size of the simulated prefix cache, in
// tokens (vLLM's default --block-size).
const PrefixBlockTokens = 16

// prefixCache is a vLLM-style automatic prefix cache: the prompt's tokens in
// consecutive blocks of PrefixBlockTokens, each block known by a hash of its
// tokens chained with the hash of the block before it, so a block's hash
// stands for the whole prefix up to its end. A request reuses the longest
// run of its leading blocks already cached, and its prefill computes only the
// rest. The cache holds at most max blocks and evicts the least recently used
// first; a prompt's blocks are touched last block first, so that of one
// prompt the tail goes before the head, as vLLM frees them.
//
// A block counts as cached from the moment a request holding it gets its
// sequence slot (the simulator plans a request's whole timeline then).
type prefixCache struct {
	max int

	mu    sync.Mutex
	lru   list.List // of uint64 block hashes, most recently used first
	index map[uint64]*list.Element
}

// newPrefixCache returns a cache of max blocks, or nil for max 0 (no cache).
func newPrefixCache(max int) *prefixCache {
	if max <= 0 {
		return nil
	}
	return &prefixCache{max: max, index: make(map[uint64]*list.Element)}
}

// use returns how many leading blocks of hs the cache holds, then caches all
// of hs as just used. A nil cache holds nothing.
func (c *prefixCache) use(hs []uint64) int {
	if c == nil || len(hs) == 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	hits := 0
	for hits < len(hs) {
		if _, ok := c.index[hs[hits]]; !ok {
			break
		}
		hits++
	}
	for i := len(hs) - 1; i >= 0; i-- {
		if e, ok := c.index[hs[i]]; ok {
			c.lru.MoveToFront(e)
		} else {
			c.index[hs[i]] = c.lru.PushFront(hs[i])
		}
	}
	for c.lru.Len() > c.max {
		e := c.lru.Back()
		delete(c.index, c.lru.Remove(e).(uint64))
	}
	return hits
}

// len is the number of blocks cached.
func (c *prefixCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// blockHashes returns the chained hashes of the full blocks of the kept
// tokens (the kept spans' tokens in order) that lie within the first limit
// of them. Each token is hashed with the index of the message content it
// belongs to, so the same tokens split differently between messages hash
// differently, as a chat template's role markers would make them.
func (p prompt) blockHashes(kept []span, limit int) []uint64 {
	n := limit / PrefixBlockTokens
	if n <= 0 {
		return nil
	}
	hs := make([]uint64, 0, n)
	h := uint64(golden)
	in := 0
	for _, s := range kept {
		off := 0
		for si, seg := range p.segs {
			lo, hi := max(s.from, off), min(s.to, off+len(seg))
			if lo >= hi {
				off += len(seg)
				continue
			}
			for _, t := range seg[lo-off : hi-off] {
				h = mix((h ^ (uint64(uint32(t)) | uint64(si+1)<<40)) + golden)
				if in++; in == PrefixBlockTokens {
					hs = append(hs, h)
					in = 0
					if len(hs) == n {
						return hs
					}
				}
			}
			off += len(seg)
		}
	}
	return hs
}
