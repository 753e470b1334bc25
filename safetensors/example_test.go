package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/attn-go/attn/safetensors"
)

func ExampleWrite() {
	var buf bytes.Buffer
	err := safetensors.Write(&buf, []safetensors.Entry{
		safetensors.Float32Entry("weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		safetensors.Int64Entry("step", []int{}, []int64{1000}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Parse(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Names(), f.Metadata())
	w, shape, _ := f.Float32s("weight")
	fmt.Println(shape, w)
	step, _, _ := f.Int64s("step")
	fmt.Println(step)
	_, _, err = f.Float32s("step")
	fmt.Println(err)
	// Output:
	// [step weight] map[format:pt]
	// [2 3] [1 2 3 4 5 6]
	// [1000]
	// safetensors: tensor "step" has dtype I64, want a float type (F32, F16, BF16, F64)
}
