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
	{"The Bund", "Shanghai"},
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
	{"Christ the Redeemer", "Rio de Janeiro"},
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
