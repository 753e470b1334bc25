package train_test

import (
	"context"
	"fmt"
	"os"

	"github.com/attn-go/attn/train"
)

// Train a small Transformer for a few steps on the reversal task, keeping
// the checkpoint in a folder, then score it on held-out examples.
func ExampleTrain() {
	dir, err := os.MkdirTemp("", "attn-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	rc, err := train.DefaultRunConfig("reverse")
	if err != nil {
		fmt.Println(err)
		return
	}
	rc.Steps, rc.BatchSize, rc.EvalSize = 3, 8, 20
	rc.Model.DModel, rc.Model.DFF = 16, 32
	res, err := train.Train(context.Background(), rc, dir, false, train.Hooks{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, saved, step, err := train.LoadModel(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	task, _ := train.NewTask(saved.Task)
	ev, err := train.Evaluate(m, task, saved.Seed, 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Losses), "steps; checkpoint at step", step, "; examples scored:", ev.Examples)
	// Output: 3 steps; checkpoint at step 3 ; examples scored: 20
}
