package tokenizer

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// benchDocs is about 2 MiB of mixed text in 16 KiB documents, generated
// deterministically: English prose with contractions and numbers, code,
// Chinese, Japanese, Russian, Arabic, Hindi, Korean, emoji, and runs of
// spaces and newlines.
var benchDocs = sync.OnceValue(func() []string {
	parts := [][]string{
		strings.Fields("the quick brown fox jumps over lazy dog I'm you're we'll they've it's don't Hello World OpenAI GPT tokenizer model data 2024 3.14159 1,234,567 $99.95 e.g. U.S.A."),
		strings.Fields("func main() { x := make([]int, 0, 16); for i := range n { x = append(x, i*2) } } // TODO: fix #42 if a >= b && c != d { return err }"),
		strings.Fields("我们 今天 去 公园 散步 。 这个 模型 的 分词 速度 很 快 ， 对吗 ？ 中华人民共和国 成立 于 1949 年"),
		strings.Fields("今日は 良い 天気 です ね 。 カタカナ の テキスト と ひらがな を 混ぜる ー 東京 大阪"),
		strings.Fields("Привет мир , как дела ? Москва — столица России . Ёлка"),
		strings.Fields("مرحبا بالعالم . كيف حالك ؟ اللغة العربية"),
		strings.Fields("नमस्ते दुनिया । हिन्दी भाषा"),
		strings.Fields("안녕하세요 세계 . 한국어 텍스트"),
		strings.Fields("🙂 🚀 👍🏽 ❤️ ✨ 🇺🇸 « ok » … — ½ ² Ⅻ"),
	}
	weights := []int{40, 15, 12, 8, 8, 5, 4, 4, 4}
	rng := rand.New(rand.NewPCG(1, 2))
	var docs []string
	var b strings.Builder
	for total := 0; total < 2<<20; {
		b.Reset()
		for b.Len() < 16<<10 {
			k, w := 0, rng.IntN(100)
			for w >= weights[k] {
				w -= weights[k]
				k++
			}
			b.WriteString(parts[k][rng.IntN(len(parts[k]))])
			switch r := rng.IntN(40); {
			case r == 0:
				b.WriteString("\n\n")
			case r == 1:
				b.WriteString("\n")
			case r == 2:
				b.WriteString("    ")
			case r < 4:
				b.WriteString("\t")
			default:
				b.WriteString(" ")
			}
		}
		docs = append(docs, b.String())
		total += b.Len()
	}
	return docs
})

func docsBytes(docs []string) int64 {
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	return int64(n)
}

// BenchmarkSplit measures the matches of each real pattern over the
// corpus, by the scanner and by the generic engine (regexp2).
func BenchmarkSplit(b *testing.B) {
	docs := benchDocs()
	for _, engine := range []string{"scanner", "regexp2"} {
		for _, p := range realPatterns {
			b.Run(engine+"/"+p.name, func(b *testing.B) {
				sc, gen := scannerAndGeneric(b, p.src)
				pat := sc
				if engine == "regexp2" {
					pat = gen
				}
				b.SetBytes(docsBytes(docs))
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					for _, d := range docs {
						pat.each(d, func(lo, hi int) { n++ })
					}
				}
				b.ReportMetric(float64(n)/float64(b.N), "matches/op")
			})
		}
	}
}

// BenchmarkPreTokenize measures whole pre-tokenizers of real files: the
// split and ByteLevel's mapping of every word.
func BenchmarkPreTokenize(b *testing.B) {
	docs := benchDocs()
	for _, c := range fuzzConfigs[:5] {
		b.Run(c.name, func(b *testing.B) {
			p := mustPre(b, c.cfg)
			b.SetBytes(docsBytes(docs))
			b.ReportAllocs()
			var words []string
			for b.Loop() {
				for _, d := range docs {
					words = p.preTokenize(words[:0], d, true)
				}
			}
		})
	}
}
