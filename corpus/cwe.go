package corpus

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Common words extraction (RULER's cwe). A numbered list of words is
// spread through the haystack in chunks ("Numbered list of words: 1.
// teapot 2. gong 3. teapot." and later "Numbered list, continued: 4.
// quail ..."); Keys words (RULER's 10 by default) occur fc times each and
// the other, uncommon, words fu times each, all in one random order. The
// question asks for the Keys most common words; the expected answer is
// those words, scored by recall (see probes).
//
// RULER uses fc = 30 and fu = 3 and fills the whole context with the
// list. Here the list takes at most three quarters of the room the
// haystack has (all of it when that is too little), with as many uncommon
// words as the vocabulary allows (at most len(cweWords) - Keys): the first
// rung of cweRungs whose list fits, with at least as many uncommon words
// as common ones, is used, so short prompts get fewer repeats (down to 2
// against 1, where half as many uncommon words as common ones will do). A long prompt has the full list (30 against 3) spread
// thinly through its haystack.
//
// Depth is where the list starts: its first chunk is the main needle at
// the requested depth, the others follow it in order at random sentence
// boundaries up to the end of the haystack.

// CWEKey is the key of a cwe question's one Ask in a Reading.
const CWEKey = "most common words"

const (
	cweFirstLead = "Numbered list of words: "
	cweNextLead  = "Numbered list, continued: "
	cweAskLead   = "What are the "
	cweAskMid    = " most common words in the numbered list spread through the text?"
	cweAskOne    = "What is the most common word in the numbered list spread through the text?"
	cweAnsLead   = "The "
	cweAnsMid    = " most common words in the numbered list are"
	cweAnsOne    = "The most common word in the numbered list is"
	// cweChunkEntries is the list entries per chunk, up to cweMaxChunks
	// chunks.
	cweChunkEntries = 16
	cweMaxChunks    = 40
)

// cweRungs are the (common, uncommon) repeat counts tried in order.
var cweRungs = [][2]int{{30, 3}, {20, 3}, {15, 3}, {10, 2}, {8, 2}, {6, 2}, {4, 1}, {3, 1}, {2, 1}}

// CWEMaxCandidates is the most distinct words of the cwe vocabulary an
// answer to a question asking for n words may name and still be scored:
// 2n. An answer past it lists the vocabulary rather than choosing, and is
// wrong (recall 0).
func CWEMaxCandidates(n int) int { return 2 * n }

// IsCWEWord reports whether w (lower case) is a word of the cwe
// vocabulary.
func IsCWEWord(w string) bool { return cweSet[w] }

// cweQuestion is the question and answer lead asking for n words.
func cweQuestion(n string) (question, answer string) {
	if n == "1" {
		return cweAskOne, cweAnsOne
	}
	return cweAskLead + n + cweAskMid, cweAnsLead + n + cweAnsMid
}

// parseCWEQuestion parses a cwe question line and returns the number of
// words asked and the text after the question.
func parseCWEQuestion(line string) (int, string, bool) {
	if strings.HasPrefix(line, cweAskOne) {
		return 1, line[len(cweAskOne):], true
	}
	s := line[len(cweAskLead):]
	m := 0
	for m < len(s) && m < 3 && s[m] >= '0' && s[m] <= '9' {
		m++
	}
	if m == 0 || !strings.HasPrefix(s[m:], cweAskMid) {
		return 0, "", false
	}
	n, _ := strconv.Atoi(s[:m])
	if n < 1 {
		return 0, "", false
	}
	return n, s[m+len(cweAskMid):], true
}

// drawCWE draws a cwe case of n common words for a spec whose frame takes
// frameCount tokens: the words, their repeats (the first rung that fits)
// and the list's chunks.
func (b *Builder) drawCWE(r *rng, spec Spec, n, frameCount int) (needles, error) {
	pool := append([]string(nil), cweWords...)
	shuffle(r, pool)
	common, rest := pool[:n], pool[n:]
	room := spec.Length - b.sysCount - frameCount - minHay
	per := 3.0 // " ", "12" and "."
	for _, w := range pool {
		per += float64(b.wordCount(w)) / float64(len(pool))
	}
	order := r.next()
	// three quarters of the room first; a prompt too short for that gets
	// a list in all of it, as RULER's list fills its prompt.
	for _, budget := range []int{room * 3 / 4, room} {
		for ri, rung := range cweRungs {
			fc, fu := rung[0], rung[1]
			entries := int(float64(budget) / per)
			u := min(len(rest), (entries-n*fc)/fu)
			minU := n
			if ri == len(cweRungs)-1 {
				minU = max(1, n/2) // the shortest list
			}
			for tries := 0; u >= minU && tries < 12; tries++ {
				lr := newRNG(order)
				chunks := cweChunks(lr, common, rest[:u], fc, fu)
				sum := 0
				for _, c := range chunks {
					sum += b.tok.Count(" " + c)
				}
				if sum <= budget {
					nd := needles{askKeys: []string{strconv.Itoa(n)}, expected: append([]string(nil), common...)}
					for i, c := range chunks {
						if i == 0 {
							nd.stmts = append(nd.stmts, stmt{text: c, main: true})
						} else {
							nd.stmts = append(nd.stmts, stmt{text: c, order: 1, after: true})
						}
					}
					return nd, nil
				}
				u = min(u-1, u*9/10)
			}
		}
	}
	// the shortest list: 2n + n/2 entries and their chunks' leads
	short := 2*n + max(1, n/2)
	need := b.sysCount + frameCount + minHay + int(float64(short)*per) + 6*max(1, short/cweChunkEntries)
	return needles{}, fmt.Errorf("%w: task cwe with %d common words needs about %d tokens or more for its shortest list (each common word twice, %d other words once), not %d: use a longer length or fewer keys",
		ErrTooShort, n, (need+31)/32*32, max(1, n/2), spec.Length)
}

// cweChunks lays out the list: common words fc times and uncommon ones fu
// times in a random order, numbered from 1, cut into chunks.
func cweChunks(r *rng, common, uncommon []string, fc, fu int) []string {
	list := make([]string, 0, len(common)*fc+len(uncommon)*fu)
	for _, w := range common {
		for range fc {
			list = append(list, w)
		}
	}
	for _, w := range uncommon {
		for range fu {
			list = append(list, w)
		}
	}
	shuffle(r, list)
	k := min(cweMaxChunks, max(1, len(list)/cweChunkEntries))
	chunks := make([]string, 0, k)
	var sb strings.Builder
	for c := range k {
		from, to := c*len(list)/k, (c+1)*len(list)/k
		sb.Reset()
		if c == 0 {
			sb.WriteString(cweFirstLead)
		} else {
			sb.WriteString(cweNextLead)
		}
		for i := from; i < to; i++ {
			if i > from {
				sb.WriteByte(' ')
			}
			sb.WriteString(strconv.Itoa(i + 1))
			sb.WriteString(". ")
			sb.WriteString(list[i])
		}
		sb.WriteByte('.')
		chunks = append(chunks, sb.String())
	}
	return chunks
}

// readCWE reads the numbered list of text and asks for its n most common
// words: the ask's values are the n words of highest count (ties in order
// of first appearance), the distractors the list's other words. An entry
// is "12. word" with a word of the vocabulary followed by a space or a
// stop, wherever it is (a chunk whose lead was cut still counts); a word
// cut short is not one. The scan is linear in len(text).
func readCWE(text string, n int) Reading {
	counts := map[string]int{}
	var order []string
	for pos := 0; ; {
		i := strings.Index(text[pos:], ". ")
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + 2
		if at == 0 || text[at-1] < '0' || text[at-1] > '9' {
			continue
		}
		m := 0
		for pos+m < len(text) && m < 24 && text[pos+m] >= 'a' && text[pos+m] <= 'z' {
			m++
		}
		if m == 0 || pos+m >= len(text) || (text[pos+m] != ' ' && text[pos+m] != '.') {
			continue
		}
		w := text[pos : pos+m]
		if !cweSet[w] {
			continue
		}
		if counts[w] == 0 {
			order = append(order, w)
		}
		counts[w]++
	}
	sort.SliceStable(order, func(i, j int) bool { return counts[order[i]] > counts[order[j]] })
	ask := Ask{Key: CWEKey}
	k := min(n, len(order))
	if k > 0 {
		ask.Values = order[:k:k]
	}
	return Reading{Asks: []Ask{ask}, Distractors: order[k:]}
}

// cweWords is the cwe vocabulary, written for this project: lower-case
// nouns of at most two tokens in either encoding, none a word of the
// prose or noise haystacks or of the other word lists (tests check).
var cweWords = []string{
	"apricot", "blackberry", "cranberry", "currant", "damson", "elderberry",
	"gooseberry", "guava", "mango", "mulberry", "papaya", "quince",
	"raspberry", "satsuma", "starfruit", "asparagus", "beetroot", "cabbage",
	"cauliflower", "celery", "cucumber", "eggplant", "garlic", "kale", "leek",
	"lentil", "lettuce", "okra", "pumpkin", "shallot", "spinach", "turnip",
	"yam", "anvil", "auger", "awl", "chisel", "clamp", "crowbar", "drill",
	"gimlet", "hacksaw", "hatchet", "jackhammer", "ladle", "mallet", "pliers",
	"plunger", "rasp", "sander", "scalpel", "shovel", "spatula", "spanner",
	"whisk", "wrench", "bassoon", "banjo", "bugle", "cello", "clarinet",
	"fiddle", "flute", "gong", "harp", "lute", "lyre", "piccolo", "sitar",
	"tuba", "viola", "zither", "anteater", "baboon", "bobcat", "buffalo",
	"buzzard", "chameleon", "condor", "coyote", "crocodile", "dolphin", "eel",
	"elk", "gerbil", "gibbon", "gnu", "gopher", "gorilla", "grouse", "haddock",
	"hornet", "impala", "jaguar", "kangaroo", "ladybug", "lobster", "manatee",
	"mink", "mussel", "okapi", "oyster", "panther", "partridge", "peacock",
	"pigeon", "quail", "reindeer", "scorpion", "shrimp", "sparrow", "starling",
	"sturgeon", "swordfish", "termite", "tortoise", "trout", "vulture",
	"wallaby", "wasp", "wren", "abacus", "amulet", "armchair", "bangle",
	"bathtub", "bookcase", "bracelet", "briefcase", "buckle", "cabinet",
	"canoe", "cardigan", "carousel", "chandelier", "chessboard", "clipboard",
	"cufflinks", "cushion", "dumbbell", "earmuffs", "escalator", "flashlight",
	"harness", "helmet", "hosepipe", "kayak", "keychain", "locomotive",
	"mailbox", "mattress", "microscope", "monocle", "moped", "napkin",
	"necklace", "padlock", "paperclip", "parachute", "pinwheel", "pitchfork",
	"postcard", "quilt", "sandal", "scooter", "seesaw", "skateboard", "sleigh",
	"snorkel", "spyglass", "stapler", "sundial", "suitcase", "surfboard",
	"teapot", "thermostat", "toaster", "tricycle", "tripod", "turntable",
	"typewriter", "unicycle", "wardrobe", "windmill", "bagel", "biscotti",
	"burrito", "cheesecake", "cupcake", "custard", "donut", "eclair", "fudge",
	"gingerbread", "granola", "hummus", "jellybean", "lemonade", "macaron",
	"muffin", "paella", "popcorn", "pudding", "samosa", "scone", "sorbet",
	"sushi", "taco", "toffee", "tortilla", "truffle", "wafer",
}

var cweSet = func() map[string]bool {
	m := make(map[string]bool, len(cweWords))
	for _, w := range cweWords {
		m[w] = true
	}
	return m
}()
