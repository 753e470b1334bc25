package tokenizer_test

import (
	"fmt"

	"github.com/attn-go/attn/tokenizer"
)

func ExampleLoad() {
	tk, err := tokenizer.Load("testdata/llama-bpe", tokenizer.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, _ := tk.Encode("Hello world, é")
	fmt.Println(ids)
	text, _ := tk.Decode(ids)
	fmt.Printf("%q\n", text)
	// Output:
	// [277 280 270 259 198 172]
	// "Hello world, é"
}

func ExampleStream() {
	tk, _ := tokenizer.Load("testdata/gpt2", tokenizer.LoadOptions{})
	ids, _ := tk.Encode("a 🙂!")
	s := tokenizer.NewStream(tk)
	for _, id := range ids {
		part, _ := s.Next(id)
		fmt.Printf("%d -> %q\n", id, part)
	}
	fmt.Printf("flush -> %q\n", s.Flush())
	// Output:
	// 97 -> "a"
	// 32 -> " "
	// 240 -> ""
	// 159 -> ""
	// 153 -> ""
	// 130 -> "🙂"
	// 33 -> "!"
	// flush -> ""
}

func ExampleWordPiece_EncodePair() {
	tk, _ := tokenizer.LoadWordPiece("testdata/bert/vocab.txt", tokenizer.WordPieceOptions{})
	ids, types, _ := tk.EncodePair("Hello!", "unaffable", tokenizer.EncodeOptions{})
	fmt.Println(ids, types)
	text, _ := tk.Decode(ids)
	fmt.Println(text)
	// Output:
	// [2 11 5 3 13 14 15 3] [0 0 0 0 1 1 1 1]
	// [CLS] hello! [SEP] unaffable [SEP]
}
