package corpus

// Word lists for keys, values, canaries and preambles. They are disjoint from
// each other and from the prose and noise haystacks' vocabulary (a test
// checks), so an expected value occurs in a generated prompt exactly where it
// was put.

// keyAdjectives and keyNouns make needle keys such as "happy-falcon".
var keyAdjectives = []string{
	"happy", "brave", "clever", "gallant", "lucky", "nifty", "proud", "shy",
	"swift", "trusty", "witty", "zany", "jolly", "eager", "fuzzy", "grumpy",
	"hasty", "jumpy", "lazy", "merry", "nimble", "plucky", "rowdy", "silly",
	"sleepy", "sneaky", "spry", "spunky", "sassy", "twitchy", "wobbly", "zesty",
	"bouncy", "cheeky", "dizzy", "frosty", "giddy", "humble", "icy", "jazzy",
	"kind", "lofty", "mighty", "nosy", "perky", "quirky", "rusty", "snappy",
	"thrifty", "upbeat", "vivid", "wily", "bold", "chipper", "dapper", "fancy",
	"goofy", "hardy", "jaunty", "keen", "loyal", "moody", "peppy", "rosy",
}

var keyNouns = []string{
	"falcon", "otter", "badger", "heron", "lynx", "marmot", "newt", "ocelot",
	"panda", "quokka", "raccoon", "salmon", "tapir", "urchin", "vole", "walrus",
	"yak", "zebra", "alpaca", "beaver", "cobra", "dingo", "egret", "ferret",
	"gecko", "hamster", "ibis", "jackal", "koala", "lemur", "mongoose", "narwhal",
	"osprey", "pelican", "puffin", "rhino", "skunk", "toucan", "weasel", "wombat",
	"bison", "cougar", "donkey", "emu", "gazelle", "hyena", "iguana", "kiwi",
	"llama", "magpie", "moose", "orca", "penguin", "possum", "seal", "sloth",
	"squid", "stork", "turkey", "viper", "warthog", "wolverine", "marten", "ostrich",
}

// valueWords are the values of the word kind.
var valueWords = []string{
	"marmalade", "quixotic", "zeppelin", "obsidian", "kaleidoscope", "pumpernickel",
	"xylophone", "labyrinth", "periscope", "trombone", "ukulele", "veranda",
	"zucchini", "gazebo", "harmonica", "igloo", "jamboree", "kazoo",
	"limerick", "mandolin", "nectarine", "origami", "paprika", "quartz",
	"rhubarb", "sombrero", "tambourine", "umbrella", "vortex", "waffle",
	"yodel", "zigzag", "accordion", "bagpipe", "cactus", "dynamo",
	"espresso", "flamingo", "gondola", "hammock", "iceberg", "jigsaw",
	"ketchup", "lollipop", "meringue", "noodle", "octopus", "pretzel",
	"quiche", "ravioli", "saxophone", "tornado", "unicorn", "volcano",
	"walnut", "yogurt", "avocado", "broccoli", "croissant", "dumpling",
	"eclipse", "fandango", "galaxy", "hurricane", "jalapeno", "kimono",
	"lasagna", "mosaic", "marzipan", "omelette", "pancake", "radish",
	"spaghetti", "trampoline", "vanilla", "wigwam", "bonsai", "catapult",
	"domino", "enigma", "fjord", "guitar", "hologram", "karaoke",
}

// canaryWords are the values of the head and tail canaries.
var canaryWords = []string{
	"saffron", "juniper", "cobalt", "magenta", "turquoise", "vermilion",
	"indigo", "scarlet", "crimson", "emerald", "sapphire", "topaz",
	"onyx", "garnet", "jasper", "opal", "peridot", "ruby",
	"tangerine", "lavender", "mahogany", "ochre", "sepia", "teal",
	"cerulean", "chartreuse", "fuchsia", "maroon", "periwinkle", "plum",
	"sienna", "russet", "beryl", "citrine", "zircon", "agate",
}

// preambleWords make the cache-busting preamble ("Archive reference
// lodestar-ocarina-kaftan-quill-easel.").
var preambleWords = []string{
	"anchor", "beacon", "cufflink", "dial", "ember", "feather", "galleon", "harbinger",
	"inkwell", "javelin", "kettle", "lodestar", "mandrake", "nutmeg", "ocarina", "pinnacle",
	"quiver", "rampart", "sextant", "thimble", "utensil", "vessel", "weathercock", "yarrow",
	"zenith", "acorn", "bramble", "cinder", "driftwood", "easel", "flint", "gargoyle",
	"hearth", "isthmus", "jackknife", "kaftan", "lattice", "marionette", "nebulizer", "obelisk",
	"parapet", "quill", "rudder", "spindle", "trellis", "upland", "valise", "wicket",
	"yardarm", "zodiac", "almanac", "bellows", "candelabra", "dirigible", "escarpment", "fresco",
	"gantry", "hourglass", "ironwork", "jib", "keepsake", "locket", "mantel", "nozzle",
}

// varLetters spell chain variable names.
const varLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
