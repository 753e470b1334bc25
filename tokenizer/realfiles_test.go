package tokenizer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/testmodels"
)

func realTok512(t *testing.T) *Llama2c {
	t.Helper()
	tk, err := LoadLlama2c(testmodels.Model(t, "stories260K", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// The ids are those of run.c's encode() with this vocab.
var tok512Cases = []struct {
	text string
	ids  []int
}{
	{"Once upon a time", []int{403, 407, 261, 378}},
	{"Zoo", []int{410, 469, 347}},
	{"Hello, world! Ünïcödé 你好 🙂", []int{346, 306, 414, 432, 263, 304, 341, 443, 410, 198, 159, 416, 198, 178, 429, 198, 185, 418, 485, 410, 231, 192, 163, 232, 168, 192, 410, 243, 162, 156, 133}},
	{"  two  spaces ", []int{410, 410, 259, 424, 414, 410, 262, 427, 412, 331, 419, 410}},
	{"a\nb\tc", []int{261, 13, 430, 12, 429}},
	{"Lily and Timmy went to the park. They saw a big dog!", []int{317, 269, 405, 263, 377, 267, 265, 282, 295, 433, 426, 342, 394, 261, 370, 400, 428, 443}},
	{"x", []int{410, 444}},
	{"\u0080 stray", []int{410, 197, 131, 349, 420, 283}},
	{"ÿþ", []int{410, 198, 194, 198, 193}},
	{"\x80\x80\x80\x80\x80the", []int{410, 131, 131, 131, 131, 131, 413, 260}},
	{"é\x80\x80\x80 cat", []int{410, 198, 172, 131, 131, 131, 280, 294}},
	{"\xffdog\xf0\x9f", []int{410, 258, 418, 414, 428, 243, 162}},
}

func TestTok512(t *testing.T) {
	tk := realTok512(t)
	for id, want := range map[int]string{0: "<unk>", 1: "\n<s>\n", 2: "\n</s>\n", 3: "<0x00>", 258: "<0xFF>", 410: " "} {
		if p, _, _ := tk.Token(id); p != want {
			t.Errorf("piece %d = %q, want %q", id, p, want)
		}
	}
	if tk.MaxTokenLength() != 7 {
		t.Errorf("max_token_length = %d", tk.MaxTokenLength())
	}
	for _, c := range tok512Cases {
		got, err := tk.Encode(c.text)
		if err != nil || !reflect.DeepEqual(got, c.ids) {
			t.Errorf("Encode(%q) = %v, %v; want %v", c.text, got, err, c.ids)
		}
		if n := naiveRunC(tk, c.text); !reflect.DeepEqual(n, c.ids) {
			t.Errorf("literal run.c Encode(%q) = %v", c.text, n)
		}
		if s, err := tk.Decode(got); err != nil || s != " "+c.text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", c.text, s, err)
		}
	}
	// What run.c prints for a prompt: the tokens after BOS, each decoded
	// with its predecessor and passed through safe_printf.
	ids, err := tk.EncodeWith("Once upon a time, Lily said 你好", EncodeOptions{AddBOS: true})
	if err != nil {
		t.Fatal(err)
	}
	var printed strings.Builder
	for i := 1; i < len(ids); i++ {
		p, err := tk.Piece(ids[i-1], ids[i])
		if err != nil {
			t.Fatal(err)
		}
		printed.WriteString(SafePrint(p))
	}
	// The space after BOS is dropped and the byte-fallback bytes of 你好
	// are not printable ASCII, so safe_printf skips them.
	if want := "Once upon a time, Lily said "; printed.String() != want {
		t.Errorf("printed %q, want %q", printed.String(), want)
	}
}
