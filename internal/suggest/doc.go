// Package suggest finds the likely intended word for a misspelled one (a
// command, a campaign field, a stage kind), for "did you mean ...?" in
// error messages. It imports only the standard library.
package suggest
