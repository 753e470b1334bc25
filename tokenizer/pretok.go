package tokenizer

// byteToRune is GPT-2's bytes_to_unicode table: printable Latin-1 bytes
// map to themselves, the other 68 bytes to U+0100 onwards in byte order,
// so every byte becomes a visible character a vocab file can hold. It is a
// variable initializer, not an init func, so that other package variables
// built from it are initialized after it.
var byteToRune = func() (t [256]rune) {
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}()

// runeToByte inverts byteToRune; a rune outside the table is absent.
var runeToByte = func() map[rune]int {
	m := make(map[rune]int, 256)
	for b, r := range byteToRune {
		m[r] = b
	}
	return m
}()

// splitGPT2 calls emit with each piece GPT-2's pre-tokenizer pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// finds in text, in order. The pieces cover text exactly. The scanner is
// scanGPT2 (regex_scan.go), which the tests hold to the regex.
func splitGPT2(text string, emit func(string)) {
	t := classTable()
	for i := 0; i < len(text); {
		j := scanGPT2(t, text, i)
		emit(text[i:j])
		i = j
	}
}
