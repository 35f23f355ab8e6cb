package corpus

import (
	"strings"
)

// The prose haystack: paragraphs of plain English about everyday crafts,
// places and trades, generated from templates and per-topic word lists
// written for this project. It contains no digits, no colons and none of the
// key, value, canary or preamble words, so nothing in it can be mistaken for
// a needle.

// topic is the material of one subject area. Subjects are singular noun
// phrases, actions are present-tense verb phrases that agree with them,
// things are singular noun phrases, places are prepositional phrases.
type topic struct {
	name      string // "the harbor", used as "the work of the harbor"
	subjects  []string
	actions   []string
	things    []string
	places    []string
	qualities []string
}

var proseTimes = []string{
	"before dawn", "in the late afternoon", "every spring", "after the first frost",
	"on quiet evenings", "during the long summer", "at the turn of the season",
	"early in the morning", "late at night", "around midday", "in the middle of winter",
	"once the rain has passed", "on market days", "at the end of every week",
	"when the days grow short", "as the light begins to fade",
}

var proseWeather = []string{
	"windy", "grey", "bright", "cold", "humid", "still", "foggy", "damp", "hot", "cloudy",
}

// proseTemplates use {S} (subject, capitalised), {s} (subject), {A} (action),
// {s2} and {A2} (a second subject and action), {t} and {t2} (things), {T}
// (thing, capitalised), {P} (place), {Pc} (place, capitalised), {W} (time),
// {Wc} (time, capitalised), {Q} and {Q2} (qualities), {R} (weather) and {N}
// (the topic's name).
var proseTemplates = []string{
	"{S} {A} {P}.",
	"{Wc}, {s} {A}.",
	"{S} {A}, and {s2} {A2}.",
	"Few people notice how {Q} {t} looks {P}.",
	"It is often said that {s} {A} {W}.",
	"{T} seemed {Q} {W}, so {s} {A}.",
	"Visitors tend to remember {t} more than anything else {P}.",
	"Nobody could quite explain why {s} {A} {W}.",
	"{T} was {Q}, and {t2} was even more so.",
	"By the end of the day, {s} {A} once again.",
	"When {s} {A}, {t} always looks {Q}.",
	"{S} {A} while {s2} {A2}.",
	"Most of the time {s} {A} {P}, though nobody asks why.",
	"Anyone who has watched {s} {A} {P} will understand why the work matters.",
	"{S} says that {t} has never looked so {Q}.",
	"Later, {s} {A} and then rests for a while.",
	"{Pc}, {s} {A}.",
	"Long before anyone else arrives, {s} {A}.",
	"Even on a {R} day, {s} {A} {P}.",
	"The work of {N} depends on {t} being {Q}.",
	"It takes patience, but {s} {A} without complaint.",
	"Some say {t} is the heart of {N}, and they may be right.",
	"{S} learned long ago that {t} must stay {Q}.",
	"There was a time when {s} {A} {W}, and some still remember it.",
	"If {t} looks {Q}, {s} {A} a little earlier than usual.",
	"Old habits last, and {s} still {A} {P}.",
	"{S} {A} {W}, and the rest of {N} follows.",
	"Nothing about {t} is hurried, and {s} likes it that way.",
}

var proseTopics = []topic{
	{
		name:      "the harbor",
		subjects:  []string{"the harbor master", "the old fisherman", "the net mender", "the youngest deckhand", "the dock keeper", "the boat builder", "the ferry pilot", "the fish seller"},
		actions:   []string{"mends the torn nets", "checks the mooring lines", "scrubs the wooden deck", "counts the crates of fish", "watches the tide come in", "paints the hull a fresh color", "coils the heavy rope", "hauls the traps onto the pier", "trims the lanterns on the jetty wall", "listens to the gulls"},
		things:    []string{"the morning catch", "the breakwater", "the tide", "the fishing fleet", "the stone quay", "the rope locker", "the smell of salt"},
		places:    []string{"along the quay", "at the end of the pier", "beside the boathouse", "near the fish market", "on the shingle beach", "under the harbor wall"},
		qualities: []string{"weathered", "busy", "calm", "restless", "crowded", "peaceful"},
	},
	{
		name:      "the bakery",
		subjects:  []string{"the baker", "the apprentice", "the flour merchant", "the pastry cook", "the shop assistant", "the bread delivery boy", "the head baker", "the neighbor from across the street"},
		actions:   []string{"kneads the dough by hand", "lights the brick oven", "shapes the loaves", "dusts the counter with flour", "pulls the rolls from the heat", "sweeps the floor", "measures the yeast", "stacks the warm bread on the shelves", "tastes the new recipe", "waits for the dough to rise"},
		things:    []string{"the sourdough starter", "the brick oven", "the rye loaf", "the kneading table", "the cinnamon bun", "the flour sack", "the bread basket"},
		places:    []string{"behind the counter", "in the warm kitchen", "by the front window", "next to the oven", "in the back room", "at the market stall"},
		qualities: []string{"golden", "fragrant", "crusty", "soft", "warm", "dense"},
	},
	{
		name:      "the observatory",
		subjects:  []string{"the astronomer", "the night assistant", "the telescope keeper", "the visiting student", "the lens grinder", "the old stargazer", "the director of the observatory", "the chart maker"},
		actions:   []string{"opens the dome to the sky", "aligns the great telescope", "records the positions of the planets", "polishes the brass eyepiece", "waits for the clouds to clear", "sketches the craters of the moon", "checks the clock against the stars", "notes the path of a comet", "adjusts the mirror", "explains the constellations to visitors"},
		things:    []string{"the northern sky", "the rising moon", "the evening star", "the great telescope", "the star chart", "the observing log", "the faint nebula"},
		places:    []string{"under the rotating dome", "on the hilltop", "in the cold reading room", "beside the window", "far from the city lights", "on the observation deck"},
		qualities: []string{"clear", "faint", "distant", "brilliant", "steady", "dim"},
	},
	{
		name:      "the garden",
		subjects:  []string{"the gardener", "the head gardener", "the young helper", "the herb grower", "the rose keeper", "the neighbor with the allotment", "the seed collector", "the hedge trimmer"},
		actions:   []string{"turns the soil with a spade", "waters the seedlings", "prunes the roses", "pulls the weeds from the path", "plants a row of beans", "ties the tomatoes to their canes", "rakes the fallen leaves", "spreads compost over the beds", "collects seeds for next year", "trims the hedge into shape"},
		things:    []string{"the vegetable patch", "the herb border", "the compost heap", "the greenhouse", "the gravel path", "the apple tree", "the flower bed"},
		places:    []string{"behind the cottage", "along the garden wall", "in the shade of the old oak", "near the greenhouse door", "by the water butt", "at the bottom of the lawn"},
		qualities: []string{"lush", "tidy", "overgrown", "fragrant", "green", "sheltered"},
	},
	{
		name:      "the mountain trail",
		subjects:  []string{"the mountain guide", "the hiker", "the hut warden", "the shepherd", "the climber", "the trail builder", "the weary traveler", "the ranger"},
		actions:   []string{"follows the ridge to the summit", "checks the weather from the pass", "rests beside the cairn", "fills a flask at the spring", "marks the trail with painted stones", "crosses the snowfield with care", "points out the distant peaks", "repairs the wooden bridge", "leads the group through the mist", "watches the sunrise over the valley"},
		things:    []string{"the rocky path", "the mountain hut", "the glacier", "the high pasture", "the summit ridge", "the alpine lake", "the narrow pass"},
		places:    []string{"above the tree line", "on the switchback trail", "beside the mountain stream", "near the hut", "below the summit", "in the high valley"},
		qualities: []string{"steep", "rugged", "windswept", "quiet", "breathtaking", "lonely"},
	},
	{
		name:      "the river trade",
		subjects:  []string{"the barge captain", "the lock keeper", "the river merchant", "the towpath walker", "the miller", "the cargo clerk", "the ferryman", "the bargeman's daughter"},
		actions:   []string{"guides the barge through the lock", "loads sacks of grain onto the deck", "opens the sluice gate", "polls the boat past the shallows", "weighs the cargo on the scales", "ties up at the wharf", "argues about the price of timber", "checks the depth of the water", "writes the cargo into the ledger", "waves to the boats going downstream"},
		things:    []string{"the canal lock", "the towpath", "the grain barge", "the water mill", "the wooden wharf", "the slow current", "the riverbank"},
		places:    []string{"below the weir", "at the river crossing", "by the old mill", "along the towpath", "near the warehouse", "at the bend in the river"},
		qualities: []string{"sluggish", "muddy", "broad", "gentle", "swollen", "placid"},
	},
	{
		name:      "the weaving shed",
		subjects:  []string{"the weaver", "the spinner", "the dyer", "the loom mechanic", "the wool buyer", "the pattern designer", "the master weaver", "the carder"},
		actions:   []string{"threads the warp onto the loom", "spins the wool into yarn", "dips the skeins into the dye", "repairs a broken shuttle", "checks the tension of the threads", "sorts the fleece by color", "folds the finished cloth", "draws a new pattern on paper", "combs the raw wool", "counts the rows of the tapestry"},
		things:    []string{"the hand loom", "the spinning wheel", "the dye vat", "the bolt of linen", "the woolen blanket", "the tapestry", "the basket of yarn"},
		places:    []string{"in the weaving shed", "by the dye house", "near the drying racks", "at the long workbench", "beside the window", "in the wool store"},
		qualities: []string{"coarse", "fine", "colorful", "tightly woven", "soft", "even"},
	},
	{
		name:      "the library",
		subjects:  []string{"the librarian", "the archivist", "the reader in the corner", "the bookbinder", "the cataloguer", "the visiting scholar", "the night porter", "the young clerk"},
		actions:   []string{"shelves the returned books", "repairs a cracked spine", "catalogues the new arrivals", "dusts the reading lamps", "searches the stacks for a lost volume", "copies an old letter by hand", "rewrites the index cards", "climbs the ladder to the top shelf", "closes the heavy doors for the night", "turns the brittle pages with care"},
		things:    []string{"the reading room", "the card catalogue", "the rare manuscript", "the map drawer", "the oak shelf", "the leather binding", "the quiet stacks"},
		places:    []string{"in the reading room", "among the stacks", "in the archive basement", "by the tall windows", "behind the front desk", "in the map room"},
		qualities: []string{"hushed", "dusty", "orderly", "ancient", "fragile", "cozy"},
	},
	{
		name:      "the railway",
		subjects:  []string{"the station master", "the engine driver", "the signal operator", "the porter", "the ticket clerk", "the track inspector", "the stoker", "the conductor"},
		actions:   []string{"waves the green flag", "checks the signals down the line", "shovels coal into the firebox", "oils the wheels of the engine", "sells tickets through the small window", "walks the track looking for loose bolts", "announces the next departure", "loads the mail bags", "sets the points for the branch line", "blows the whistle before the tunnel"},
		things:    []string{"the steam engine", "the signal box", "the waiting room", "the branch line", "the platform clock", "the goods wagon", "the iron bridge"},
		places:    []string{"on the platform", "at the level crossing", "in the signal box", "beside the water tower", "along the embankment", "at the junction"},
		qualities: []string{"punctual", "noisy", "smoky", "crowded", "empty", "reliable"},
	},
	{
		name:      "the apiary",
		subjects:  []string{"the beekeeper", "the honey maker", "the apprentice beekeeper", "the orchard owner", "the wax chandler", "the visiting botanist", "the old bee master", "the market trader"},
		actions:   []string{"lifts the lid of the hive", "smokes the bees to calm them", "checks the frames for brood", "spins the honey from the comb", "melts the wax into candles", "plants clover near the hives", "watches the swarm settle", "labels the jars of honey", "repairs the wooden hive boxes", "listens to the hum of the colony"},
		things:    []string{"the honeycomb", "the hive", "the swarm", "the clover field", "the jar of honey", "the beeswax candle", "the queen cell"},
		places:    []string{"at the edge of the orchard", "in the meadow", "beside the hedgerow", "in the honey house", "under the lime trees", "near the heather"},
		qualities: []string{"sweet", "golden", "busy", "thick", "amber colored", "fragrant"},
	},
	{
		name:      "the pottery",
		subjects:  []string{"the potter", "the glaze maker", "the apprentice", "the kiln tender", "the clay digger", "the painter of bowls", "the shop keeper", "the master potter"},
		actions:   []string{"throws a bowl on the wheel", "wedges the clay on the bench", "fires the kiln through the night", "mixes a new glaze", "trims the foot of a pot", "paints a pattern on the jug", "stacks the plates to dry", "digs clay from the riverbank", "wraps the finished pieces in straw", "opens the kiln to see the results"},
		things:    []string{"the potter's wheel", "the wood fired kiln", "the glazed jug", "the drying shelf", "the lump of clay", "the blue bowl", "the tall vase"},
		places:    []string{"in the workshop", "beside the kiln", "at the wheel", "in the drying room", "by the clay pit", "on the shop shelf"},
		qualities: []string{"smooth", "glossy", "cracked", "earthy", "delicate", "sturdy"},
	},
	{
		name:      "the orchestra",
		subjects:  []string{"the conductor", "the first violinist", "the cellist", "the timpani player", "the oboist", "the stage manager", "the composer", "the young flautist"},
		actions:   []string{"tunes the strings before rehearsal", "marks the score with a pencil", "practices the difficult passage", "counts the bars of rest", "raises the baton", "adjusts the music stand", "listens to the hall fall silent", "plays the opening theme", "rehearses the slow movement again", "bows to the audience"},
		things:    []string{"the concert hall", "the opening overture", "the slow movement", "the string section", "the final chord", "the rehearsal schedule", "the printed score"},
		places:    []string{"on the stage", "in the rehearsal room", "behind the curtain", "in the orchestra pit", "in the green room", "in the front row"},
		qualities: []string{"resonant", "lively", "solemn", "graceful", "thrilling", "gentle"},
	},
	{
		name:      "the lighthouse",
		subjects:  []string{"the lighthouse keeper", "the keeper's assistant", "the supply boat captain", "the coast guard", "the lamp cleaner", "the island shepherd", "the visiting inspector", "the keeper's wife"},
		actions:   []string{"trims the wick of the great lamp", "winds the clockwork of the lens", "polishes the glass prisms", "writes the weather in the logbook", "climbs the spiral stairs", "signals to the passing ships", "stores oil for the winter", "checks the foghorn", "watches the breakers on the rocks", "paints the tower white again"},
		things:    []string{"the great lamp", "the spiral stair", "the lantern room", "the rocky headland", "the foghorn", "the keeper's cottage", "the beam of light"},
		places:    []string{"at the top of the tower", "on the rocky island", "in the lantern room", "beside the foghorn", "on the cliff path", "in the keeper's cottage"},
		qualities: []string{"lonely", "steady", "bright", "storm battered", "isolated", "reassuring"},
	},
	{
		name:      "the vineyard",
		subjects:  []string{"the vintner", "the grape picker", "the cellar master", "the cooper", "the vineyard owner", "the wine taster", "the tractor driver", "the harvest cook"},
		actions:   []string{"prunes the vines in late winter", "picks the ripe grapes", "presses the fruit in the old press", "rolls the barrels into the cellar", "tastes the wine from the cask", "checks the sugar in the grapes", "ties the young shoots to the wire", "repairs the stone terraces", "labels the bottles by hand", "walks the rows at sunset"},
		things:    []string{"the grape harvest", "the oak barrel", "the wine cellar", "the terraced slope", "the wine press", "the ripe cluster", "the cork"},
		places:    []string{"on the sunny slope", "in the cool cellar", "between the rows of vines", "beside the press house", "on the terrace", "at the harvest table"},
		qualities: []string{"ripe", "robust", "mellow", "sun warmed", "rich", "young"},
	},
	{
		name:      "the caravan",
		subjects:  []string{"the caravan leader", "the camel driver", "the spice trader", "the desert guide", "the water carrier", "the traveling storyteller", "the tent maker", "the merchant's son"},
		actions:   []string{"reads the stars to find the way", "loads the saddle bags", "fills the water skins at the well", "pitches the tents before nightfall", "bargains over silk and salt", "tells stories around the fire", "checks the hooves of the animals", "follows the old trade route", "waits out the sandstorm", "counts the bales of cloth"},
		things:    []string{"the oasis", "the trade route", "the sand dune", "the desert well", "the spice market", "the evening fire", "the long journey"},
		places:    []string{"across the dunes", "at the oasis", "beside the well", "in the shade of the palms", "on the caravan road", "near the market gate"},
		qualities: []string{"dusty", "endless", "scorching", "silent", "shimmering", "harsh"},
	},
	{
		name:      "the forest",
		subjects:  []string{"the forester", "the woodcutter", "the charcoal burner", "the mushroom gatherer", "the bird watcher", "the young naturalist", "the game keeper", "the botanist"},
		actions:   []string{"marks the trees for thinning", "splits logs for the winter", "gathers mushrooms under the beeches", "listens for the woodpecker", "follows the deer tracks", "plants saplings in the clearing", "clears the fallen branches from the path", "sketches the ferns", "builds a shelter from branches", "watches the fox at dusk"},
		things:    []string{"the old beech wood", "the clearing", "the fern covered slope", "the mossy log", "the woodland stream", "the canopy", "the forest floor"},
		places:    []string{"deep in the woods", "at the edge of the clearing", "beside the stream", "under the tall pines", "along the forest track", "near the charcoal pit"},
		qualities: []string{"shady", "mossy", "ancient", "dense", "silent", "green"},
	},
	{
		name:      "the clockmaker's shop",
		subjects:  []string{"the clockmaker", "the apprentice", "the customer with the broken watch", "the engraver", "the repairer", "the shop owner", "the brass founder", "the collector"},
		actions:   []string{"oils the tiny gears", "adjusts the pendulum", "replaces a worn spring", "engraves a name on the case", "listens to the ticking", "cleans the movement with a brush", "winds every clock in the shop", "files a new tooth on a wheel", "sets the hands to the right time", "polishes the glass face"},
		things:    []string{"the grandfather clock", "the pocket watch", "the pendulum", "the escapement", "the brass gear", "the wall clock", "the workbench drawer"},
		places:    []string{"at the workbench", "behind the shop window", "in the back room", "under the magnifying lamp", "on the shelf of repairs", "by the door"},
		qualities: []string{"precise", "delicate", "intricate", "steady", "old fashioned", "polished"},
	},
	{
		name:      "map making",
		subjects:  []string{"the cartographer", "the surveyor", "the engraver", "the explorer", "the map seller", "the draughtsman", "the navigator", "the geographer"},
		actions:   []string{"measures the angle to the church spire", "draws the coastline in fine ink", "walks the boundary with a chain", "colors the forests green", "names the unnamed streams", "checks the old charts for errors", "engraves the plate for printing", "compares notes from the expedition", "rolls the finished map carefully", "marks the path of the river"},
		things:    []string{"the coastline", "the survey chain", "the printing plate", "the blank corner of the map", "the compass rose", "the field notebook", "the old chart"},
		places:    []string{"in the drawing office", "on the survey hill", "at the large table", "along the coast road", "in the printing room", "beside the window"},
		qualities: []string{"accurate", "detailed", "uncharted", "faded", "careful", "elegant"},
	},
	{
		name:      "the sailing school",
		subjects:  []string{"the sailing instructor", "the young sailor", "the boatwright", "the rigger", "the harbor pilot", "the skipper", "the crew member", "the sailmaker"},
		actions:   []string{"hoists the mainsail", "tacks across the bay", "checks the direction of the wind", "ties a bowline knot", "stitches a tear in the sail", "reefs the sail before the squall", "steers toward the marker buoy", "coils the sheets on deck", "reads the clouds over the headland", "brings the dinghy back to the slipway"},
		things:    []string{"the mainsail", "the sheltered bay", "the wooden dinghy", "the marker buoy", "the steady breeze", "the tiller", "the slipway"},
		places:    []string{"out in the bay", "beside the slipway", "at the helm", "in the sail loft", "along the shore", "past the headland"},
		qualities: []string{"brisk", "choppy", "calm", "gusty", "sparkling", "sheltered"},
	},
	{
		name:      "the village market",
		subjects:  []string{"the cheese seller", "the flower seller", "the farmer's wife", "the market warden", "the fruit grower", "the knife grinder", "the egg seller", "the street musician"},
		actions:   []string{"sets up the stall at first light", "arranges the apples in neat rows", "calls out the price of cheese", "wraps the flowers in paper", "sharpens knives for the neighbors", "weighs the potatoes", "packs away the empty crates", "chats with the regular customers", "plays a tune by the fountain", "sweeps the square after closing"},
		things:    []string{"the market square", "the cheese stall", "the flower cart", "the fountain", "the basket of eggs", "the striped awning", "the pile of pumpkins"},
		places:    []string{"in the market square", "under the striped awning", "by the fountain", "near the church steps", "at the corner stall", "along the cobbled lane"},
		qualities: []string{"lively", "colorful", "bustling", "noisy", "cheerful", "crowded"},
	},
	{
		name:      "the weather station",
		subjects:  []string{"the weather observer", "the meteorologist", "the station keeper", "the farmer", "the balloon launcher", "the radio operator", "the retired sailor", "the schoolteacher"},
		actions:   []string{"reads the barometer", "records the rainfall", "launches a weather balloon", "checks the wind vane", "notes the shape of the clouds", "sends the report by radio", "measures the depth of the snow", "compares the readings with last year", "warns the valley about the storm", "cleans the rain gauge"},
		things:    []string{"the barometer", "the wind vane", "the rain gauge", "the thunderstorm", "the morning fog", "the cold front", "the clear sky"},
		places:    []string{"on the hill above the village", "in the instrument hut", "beside the mast", "at the station", "in the radio room", "on the flat roof"},
		qualities: []string{"changeable", "stormy", "mild", "bitter", "clear", "heavy"},
	},
	{
		name:      "the glassworks",
		subjects:  []string{"the glassblower", "the furnace tender", "the engraver", "the apprentice", "the window maker", "the bead maker", "the master of the glassworks", "the packer"},
		actions:   []string{"gathers molten glass on the pipe", "blows a slow bubble", "shapes the vase with wet wood", "stokes the furnace", "cuts a pattern into the goblet", "cools the pieces in the annealing oven", "grinds the rim smooth", "colors the glass with metal oxides", "wraps the goblets for the journey", "inspects the panes for bubbles"},
		things:    []string{"the furnace", "the blowpipe", "the green bottle", "the stained window", "the crystal goblet", "the glowing gather", "the annealing oven"},
		places:    []string{"in front of the furnace", "at the marver", "in the cutting room", "by the cooling racks", "in the showroom", "near the loading door"},
		qualities: []string{"glowing", "clear", "fragile", "shimmering", "translucent", "heavy"},
	},
	{
		name:      "the tea estate",
		subjects:  []string{"the tea picker", "the estate manager", "the tea taster", "the factory foreman", "the plantation cook", "the leaf sorter", "the buyer from the city", "the estate doctor"},
		actions:   []string{"plucks the top two leaves and a bud", "spreads the leaves to wither", "rolls the leaves by hand", "tastes the new flush", "weighs the baskets at noon", "sorts the leaves by grade", "walks the terraces in the mist", "packs the tea into wooden chests", "checks the drying trays", "talks about the coming monsoon"},
		things:    []string{"the first flush", "the tea terrace", "the withering shed", "the drying tray", "the wooden tea chest", "the misty hillside", "the tasting cup"},
		places:    []string{"on the misty hillside", "in the withering shed", "along the terraces", "in the tasting room", "at the weighing station", "below the factory"},
		qualities: []string{"fragrant", "misty", "green", "bright", "delicate", "smoky"},
	},
	{
		name:      "bridge building",
		subjects:  []string{"the bridge engineer", "the stonemason", "the carpenter", "the foreman", "the diver", "the surveyor", "the blacksmith", "the young laborer"},
		actions:   []string{"sets the keystone of the arch", "drives the wooden piles into the riverbed", "checks the level of the deck", "cuts the stone blocks to size", "forges the iron rivets", "builds the timber centering", "inspects the piers after the flood", "hauls the beams into place", "mixes the mortar", "walks across the finished span"},
		things:    []string{"the stone arch", "the timber centering", "the river pier", "the iron railing", "the keystone", "the finished span", "the scaffolding"},
		places:    []string{"on the scaffolding", "below the arch", "on the riverbank", "in the stone yard", "at the middle of the span", "beside the cofferdam"},
		qualities: []string{"solid", "graceful", "massive", "unfinished", "sturdy", "elegant"},
	},
}

// proseGen writes paragraphs of prose. It is deterministic for its seed.
type proseGen struct {
	r         *rng
	lastTopic int
	last      string
	sb        strings.Builder
}

func newProseGen(seed uint64) *proseGen { return &proseGen{r: newRNG(seed), lastTopic: -1} }

// paragraph returns one paragraph: 4 to 8 sentences on one topic, separated
// by single spaces, ending in "\n\n".
func (g *proseGen) paragraph() string {
	ti := g.r.intn(len(proseTopics))
	if ti == g.lastTopic {
		ti = (ti + 1 + g.r.intn(len(proseTopics)-1)) % len(proseTopics)
	}
	g.lastTopic = ti
	tp := &proseTopics[ti]
	n := 4 + g.r.intn(5)
	var b strings.Builder
	for i := 0; i < n; i++ {
		s := g.sentence(tp)
		for s == g.last {
			s = g.sentence(tp)
		}
		g.last = s
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	b.WriteString("\n\n")
	return b.String()
}

// sentence fills a random template from topic tp.
func (g *proseGen) sentence(tp *topic) string {
	r := g.r
	tpl := pick(r, proseTemplates)
	s1 := r.intn(len(tp.subjects))
	s2 := (s1 + 1 + r.intn(len(tp.subjects)-1)) % len(tp.subjects)
	a1 := r.intn(len(tp.actions))
	a2 := (a1 + 1 + r.intn(len(tp.actions)-1)) % len(tp.actions)
	t1 := r.intn(len(tp.things))
	t2 := (t1 + 1 + r.intn(len(tp.things)-1)) % len(tp.things)
	place := pick(r, tp.places)
	when := pick(r, proseTimes)
	q := pick(r, tp.qualities)
	b := &g.sb
	b.Reset()
	for i := 0; i < len(tpl); i++ {
		c := tpl[i]
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for tpl[j] != '}' {
			j++
		}
		switch tpl[i+1 : j] {
		case "S":
			b.WriteString(capitalize(tp.subjects[s1]))
		case "s":
			b.WriteString(tp.subjects[s1])
		case "s2":
			b.WriteString(tp.subjects[s2])
		case "A":
			b.WriteString(tp.actions[a1])
		case "A2":
			b.WriteString(tp.actions[a2])
		case "t":
			b.WriteString(tp.things[t1])
		case "T":
			b.WriteString(capitalize(tp.things[t1]))
		case "t2":
			b.WriteString(tp.things[t2])
		case "P":
			b.WriteString(place)
		case "Pc":
			b.WriteString(capitalize(place))
		case "W":
			b.WriteString(when)
		case "Wc":
			b.WriteString(capitalize(when))
		case "Q":
			b.WriteString(q)
		case "R":
			b.WriteString(pick(r, proseWeather))
		case "N":
			b.WriteString(tp.name)
		}
		i = j
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
