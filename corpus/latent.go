package corpus

import "strings"

// Landmark is one association of the latent task (after NoLiMa): a
// landmark and the place it is in. A needle says a character lives next
// to the landmark; the question asks which character has been to the
// place, so no content word of the question is in the needle and a model
// must know the association to find it.
type Landmark struct {
	Landmark string
	Place    string
}

// Landmarks is the latent task's built-in table, written for this
// project. TestLandmarksShareNoWord checks that no content word of any
// question is in its needle.
var Landmarks = []Landmark{
	{"Eiffel Tower", "Paris"},
	{"Louvre", "Paris"},
	{"Colosseum", "Rome"},
	{"Trevi Fountain", "Rome"},
	{"Sagrada Familia", "Barcelona"},
	{"Park Guell", "Barcelona"},
	{"Big Ben", "London"},
	{"Tower Bridge", "London"},
	{"Brandenburg Gate", "Berlin"},
	{"Reichstag", "Berlin"},
	{"Acropolis", "Athens"},
	{"Parthenon", "Athens"},
	{"Kremlin", "Moscow"},
	{"Red Square", "Moscow"},
	{"Hermitage Museum", "Saint Petersburg"},
	{"Rijksmuseum", "Amsterdam"},
	{"Anne Frank House", "Amsterdam"},
	{"Atomium", "Brussels"},
	{"Manneken Pis", "Brussels"},
	{"Little Mermaid statue", "Copenhagen"},
	{"Tivoli Gardens", "Copenhagen"},
	{"Hradcany castle", "Prague"},
	{"Charles Bridge", "Prague"},
	{"Schonbrunn Palace", "Vienna"},
	{"Belvedere Palace", "Vienna"},
	{"Chain Bridge", "Budapest"},
	{"Wawel Castle", "Krakow"},
	{"Belem Tower", "Lisbon"},
	{"Alhambra", "Granada"},
	{"Prado Museum", "Madrid"},
	{"Leaning Tower", "Pisa"},
	{"Rialto Bridge", "Venice"},
	{"Doge's Palace", "Venice"},
	{"Uffizi Gallery", "Florence"},
	{"Duomo of Brunelleschi", "Florence"},
	{"Hagia Sophia", "Istanbul"},
	{"Blue Mosque", "Istanbul"},
	{"Pyramids of Giza", "Cairo"},
	{"Sphinx", "Cairo"},
	{"Table Mountain", "Cape Town"},
	{"Burj Khalifa", "Dubai"},
	{"Taj Mahal", "Agra"},
	{"Gateway of India", "Mumbai"},
	{"Forbidden City", "Beijing"},
	{"Temple of Heaven", "Beijing"},
	{"Oriental Pearl Tower", "Shanghai"},
	{"Bund waterfront", "Shanghai"},
	{"Skytree", "Tokyo"},
	{"Shibuya Crossing", "Tokyo"},
	{"Fushimi Inari shrine", "Kyoto"},
	{"Kinkaku-ji", "Kyoto"},
	{"Gyeongbokgung", "Seoul"},
	{"Petronas Towers", "Kuala Lumpur"},
	{"Marina Bay Sands", "Singapore"},
	{"Grand Palace", "Bangkok"},
	{"Angkor Wat", "Siem Reap"},
	{"Opera House at Bennelong Point", "Sydney"},
	{"Harbour Bridge", "Sydney"},
	{"Sky Tower", "Auckland"},
	{"Statue of Liberty", "New York"},
	{"Empire State Building", "New York"},
	{"Central Park", "New York"},
	{"Golden Gate Bridge", "San Francisco"},
	{"Alcatraz", "San Francisco"},
	{"Space Needle", "Seattle"},
	{"Hollywood sign", "Los Angeles"},
	{"Griffith Observatory", "Los Angeles"},
	{"Willis Tower", "Chicago"},
	{"Cloud Gate", "Chicago"},
	{"Lincoln Memorial", "Washington"},
	{"White House", "Washington"},
	{"Gateway Arch", "St. Louis"},
	{"Alamo", "San Antonio"},
	{"French Quarter", "New Orleans"},
	{"Liberty Bell", "Philadelphia"},
	{"Fenway Park", "Boston"},
	{"CN Tower", "Toronto"},
	{"Chateau Frontenac", "Quebec"},
	{"Stanley Park", "Vancouver"},
	{"Christ the Redeemer statue", "Rio de Janeiro"},
	{"Sugarloaf Mountain", "Rio de Janeiro"},
	{"Obelisco", "Buenos Aires"},
	{"Machu Picchu", "Cusco"},
	{"Zocalo", "Mexico City"},
	{"Chichen Itza", "Merida"},
	{"Castle Rock fortress", "Edinburgh"},
	{"Royal Mile", "Edinburgh"},
	{"Guinness Storehouse", "Dublin"},
	{"Cliffs of Moher", "Galway"},
	{"Matterhorn", "Zermatt"},
	{"Jet d'Eau", "Geneva"},
	{"Mont Saint-Michel", "Normandy"},
	{"Neuschwanstein Castle", "Bavaria"},
	{"Kolner Dom", "Cologne"},
	{"Snohetta opera house", "Oslo"},
	{"Vasa Museum", "Stockholm"},
	{"Temppeliaukio Church", "Helsinki"},
	{"Blue Lagoon", "Reykjavik"},
	{"Petra Treasury", "Jordan"},
	{"Western Wall", "Jerusalem"},
	{"Burj Al Arab", "Dubai"},
	{"Mount Fuji", "Japan"},
	{"Great Barrier Reef", "Australia"},
	{"Uluru", "Australia"},
	{"Kilimanjaro", "Tanzania"},
	{"Victoria Falls", "Zambia"},
	{"Niagara Falls", "Ontario"},
	{"Grand Canyon", "Arizona"},
	{"Yellowstone geysers", "Wyoming"},
}

// Latent phrasing. LatentNeedle and LatentQuestion hold no content word in
// common besides the landmark and the place, which themselves share none.
const (
	latentNeedleLead = "Actually, "
	latentNeedleMid  = " lives next to the "
	latentAskLead    = "Which character has been to "
	latentAnsLead    = "The character who has been to "
)

// LatentNeedle is the needle sentence: "Actually, Yuki lives next to the
// Semper Opera House."
func LatentNeedle(name string, l Landmark) string {
	return latentNeedleLead + name + latentNeedleMid + l.Landmark + "."
}

// LatentQuestion is the question: "Which character has been to Dresden?"
func LatentQuestion(l Landmark) string {
	return latentAskLead + l.Place + "?"
}

// contentWords are the lower-cased words of s of three letters or more,
// common function words left out.
func contentWords(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z') && r < 0x80
	}) {
		if len(w) >= 3 && !latentStop[w] {
			out[w] = true
		}
	}
	return out
}

var latentStop = map[string]bool{"the": true, "and": true, "of": true, "to": true, "has": true, "been": true, "which": true, "next": true, "lives": true, "actually": true, "character": true, "at": true, "on": true, "in": true}

// placeCountry is the country of each place of the table. A latent case's
// distractor characters live next to landmarks of other countries, so that
// none of them is also a right answer (someone next to the Opera House at
// Bennelong Point has been to Australia too).
var placeCountry = map[string]string{
	"Paris": "France", "Normandy": "France",
	"Rome": "Italy", "Pisa": "Italy", "Venice": "Italy", "Florence": "Italy",
	"Barcelona": "Spain", "Granada": "Spain", "Madrid": "Spain",
	"London": "United Kingdom", "Edinburgh": "United Kingdom",
	"Berlin": "Germany", "Bavaria": "Germany", "Cologne": "Germany",
	"Athens": "Greece", "Moscow": "Russia", "Saint Petersburg": "Russia",
	"Amsterdam": "Netherlands", "Brussels": "Belgium", "Copenhagen": "Denmark",
	"Prague": "Czechia", "Vienna": "Austria", "Budapest": "Hungary",
	"Krakow": "Poland", "Lisbon": "Portugal", "Istanbul": "Turkey",
	"Cairo": "Egypt", "Cape Town": "South Africa", "Dubai": "United Arab Emirates",
	"Agra": "India", "Mumbai": "India", "Beijing": "China", "Shanghai": "China",
	"Tokyo": "Japan", "Kyoto": "Japan", "Japan": "Japan", "Seoul": "South Korea",
	"Kuala Lumpur": "Malaysia", "Singapore": "Singapore", "Bangkok": "Thailand",
	"Siem Reap": "Cambodia", "Sydney": "Australia", "Australia": "Australia",
	"Auckland": "New Zealand",
	"New York": "United States", "San Francisco": "United States", "Seattle": "United States",
	"Los Angeles": "United States", "Chicago": "United States", "Washington": "United States",
	"St. Louis": "United States", "San Antonio": "United States", "New Orleans": "United States",
	"Philadelphia": "United States", "Boston": "United States", "Arizona": "United States",
	"Wyoming": "United States",
	"Toronto": "Canada", "Quebec": "Canada", "Vancouver": "Canada", "Ontario": "Canada",
	"Rio de Janeiro": "Brazil", "Buenos Aires": "Argentina", "Cusco": "Peru",
	"Mexico City": "Mexico", "Merida": "Mexico", "Dublin": "Ireland", "Galway": "Ireland",
	"Zermatt": "Switzerland", "Geneva": "Switzerland", "Oslo": "Norway",
	"Stockholm": "Sweden", "Helsinki": "Finland", "Reykjavik": "Iceland",
	"Jordan": "Jordan", "Jerusalem": "Israel", "Tanzania": "Tanzania", "Zambia": "Zambia",
}

// characterNames are the latent task's characters, written for this
// project: one capitalised word each, none a word of the prose or noise
// haystacks or of the landmark table (tests check).
var characterNames = []string{
	"Yuki", "Mateo", "Priya", "Olufemi", "Ingrid", "Tomasz", "Leilani", "Dmitri",
	"Amara", "Kenji", "Ravi", "Astrid", "Chidi", "Noor", "Bjorn", "Esperanza",
	"Farid", "Giulia", "Hiroshi", "Imani", "Jovan", "Katya", "Lars", "Malik",
	"Nadia", "Oskar", "Paloma", "Quentin", "Rashid", "Saoirse", "Tariq", "Ulla",
	"Valentina", "Wendell", "Ximena", "Yusuf", "Zofia", "Anouk", "Bongani", "Catalina",
	"Desmond", "Elif", "Florian", "Greta", "Hamid", "Isolde", "Jarrah", "Keanu",
	"Lucia", "Mirela", "Nikhil", "Odette", "Pavel", "Rosalind", "Sunita", "Thabo",
	"Uriel", "Vesna", "Wilhelmina", "Yasmin", "Zoltan", "Aurelio", "Brigid", "Cosmin",
}

// landmarkPlace finds a landmark's place; the reader resolves needles
// with it, as a model that knows the association would.
var landmarkPlace = func() map[string]string {
	m := make(map[string]string, len(Landmarks))
	for _, l := range Landmarks {
		m[l.Landmark] = l.Place
	}
	return m
}()

// drawLatent draws a latent case: the asked landmark and its character,
// and n distractor characters next to landmarks of other countries whose
// words share nothing with the question either. Names and landmarks are
// distinct.
func drawLatent(r *rng, n int) needles {
	var nd needles
	l := pick(r, Landmarks)
	names := make([]string, len(characterNames))
	copy(names, characterNames)
	shuffle(r, names)
	q := contentWords(latentAskLead + l.Place + "? " + latentAnsLead + l.Place + " is")
	var others []Landmark
	for _, d := range Landmarks {
		if placeCountry[d.Place] == placeCountry[l.Place] {
			continue
		}
		ok := true
		for w := range contentWords(d.Landmark) {
			if q[w] {
				ok = false
				break
			}
		}
		if ok {
			others = append(others, d)
		}
	}
	shuffle(r, others)
	n = min(n, len(others), len(names)-1)
	nd.stmts = append(nd.stmts, stmt{text: LatentNeedle(names[0], l), main: true})
	nd.values = append(nd.values, names[0])
	for i := 0; i < n; i++ {
		nd.stmts = append(nd.stmts, stmt{text: LatentNeedle(names[i+1], others[i])})
		nd.values = append(nd.values, names[i+1])
	}
	nd.askKeys = []string{l.Place}
	nd.expected = []string{names[0]}
	return nd
}

// shuffle puts list in a random order (Fisher-Yates).
func shuffle[T any](r *rng, list []T) {
	for i := len(list) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		list[i], list[j] = list[j], list[i]
	}
}

// readLatent reads the latent needles of text ("Actually, NAME lives next
// to the LANDMARK.", whole sentences only, with a landmark of the table)
// for a question about place: the characters next to its landmarks are
// the ask's values, the others distractors, in text order without
// repeats.
func readLatent(text, place string) Reading {
	ask := Ask{Key: place}
	var distractors []string
	seen := map[string]bool{}
	for pos := 0; ; {
		i := strings.Index(text[pos:], latentNeedleMid)
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + len(latentNeedleMid)
		name, ok := latentName(text[:at])
		if !ok {
			continue
		}
		rest := text[pos:min(len(text), pos+65)] // landmarks are short: stay linear
		end := strings.IndexByte(rest, '.')
		if end <= 0 || end > 64 {
			continue
		}
		p, ok := landmarkPlace[rest[:end]]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		if p == place {
			ask.Values = append(ask.Values, name)
		} else {
			distractors = append(distractors, name)
		}
	}
	return Reading{Asks: []Ask{ask}, Distractors: distractors}
}

// latentName is the name at the end of before, which must end with
// "Actually, NAME" (a capital letter, then letters).
func latentName(before string) (string, bool) {
	j := len(before)
	for j > 0 && len(before)-j < 32 {
		c := before[j-1]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			break
		}
		j--
	}
	name := before[j:]
	if name == "" || name[0] < 'A' || name[0] > 'Z' || !strings.HasSuffix(before[:j], latentNeedleLead) {
		return "", false
	}
	return name, true
}
