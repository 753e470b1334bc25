package models_test

import (
	"fmt"

	"github.com/attn-go/attn/models"
)

// Load a checkpoint (here a tiny llama2.c model from the test data; a
// Hugging Face folder works the same way), then generate greedily through
// the KV cache.
func Example() {
	m, err := models.Load("../testdata/golden/models/llama2c_tied/model.bin")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	dec := m.(*models.Decoder)
	state, err := dec.NewState(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, stats, err := dec.Generate(state, []int{1, 5, 9}, models.GenerateOptions{MaxNew: 4, Stop: []int{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dec.Arch(), dec.Config.Layers, "layers;", len(ids), "new tokens;", stats.PromptTokens, "prompt tokens")
	// Output: llama2c 2 layers; 4 new tokens; 3 prompt tokens
}

// Inspect lists a checkpoint's tensors without reading its weights.
func ExampleInspect() {
	inv, err := models.Inspect("../testdata/golden/models/gpt2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inv.Format, inv.Tensors[0].Name, inv.Tensors[0].DType, inv.Tensors[0].Shape)
	// Output: huggingface transformer.h.0.attn.bias F32 [1 1 32 32]
}
