// Package termsafe neutralises text from outside (a server's model ids,
// error messages and answers) before it reaches a terminal or a file a
// terminal may show: every control character, C0 (such as ESC, which starts
// ANSI sequences like "ESC ] 52" that write the clipboard or "ESC [ 2J" that
// clears the screen), DEL, C1 (U+0080 to U+009F, such as U+009B, a
// one-character CSI), the bidirectional overrides that reorder what is shown
// (U+202A to U+202E, U+2066 to U+2069 and the marks), and every byte that is
// not UTF-8 is written out as a visible escape (`\x1b`, `\u009b`, `\xff`),
// so the text stays readable and nothing in it is acted on.
//
// It is hand-written rather than taken from an ANSI-stripping library:
// those remove well-formed escape sequences only, and let C1 controls,
// lone ESC bytes and bidi overrides through.
//
// It imports only the standard library, and nothing outside internal may be
// needed to use it.
package termsafe
