package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/attn-go/attn/safetensors"
)

// CheckpointFile is the file a training run keeps in its output folder.
const CheckpointFile = "checkpoint.safetensors"

const checkpointFormat = "attn-train-1"

// Checkpoint is everything needed to continue a run exactly: the
// parameters, the optimizer's moments and step, and the run's settings.
type Checkpoint struct {
	Run    RunConfig
	Step   int // batches done
	Params []*Param
	Adam   *Adam
}

// SaveCheckpoint writes c to dir/checkpoint.safetensors atomically
// (temporary file in dir, fsync, rename, directory fsync): a crash at any
// moment leaves either the previous checkpoint or the new one, whole.
// Parameters keep their names; the Adam moments are "optim.m.<name>" and
// "optim.v.<name>"; the settings and counters are in the metadata.
func SaveCheckpoint(dir string, c *Checkpoint) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint folder: %w", err)
	}
	run, err := json.Marshal(c.Run)
	if err != nil {
		return err
	}
	var entries []safetensors.Entry
	for i, p := range c.Params {
		entries = append(entries, safetensors.Float32Entry(p.Name, p.Shape, p.W))
		if c.Adam != nil && c.Adam.M != nil {
			entries = append(entries,
				safetensors.Float32Entry("optim.m."+p.Name, p.Shape, c.Adam.M[i]),
				safetensors.Float32Entry("optim.v."+p.Name, p.Shape, c.Adam.V[i]))
		}
	}
	meta := map[string]string{
		"format": checkpointFormat,
		"run":    string(run),
		"step":   strconv.Itoa(c.Step),
	}
	if c.Adam != nil {
		meta["adam_step"] = strconv.Itoa(c.Adam.Step)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, CheckpointFile), entries, meta); err != nil {
		return fmt.Errorf("train: saving checkpoint: %w", err)
	}
	return nil
}

// ErrNoCheckpoint is returned by LoadCheckpoint when dir holds none.
var ErrNoCheckpoint = errors.New("train: no checkpoint")

// ReadRunConfig reads only the settings of the checkpoint in dir, so the
// caller can build the model it describes before LoadCheckpoint fills it.
func ReadRunConfig(dir string) (RunConfig, *safetensors.File, error) {
	path := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return RunConfig{}, nil, fmt.Errorf("%w in %s (expected %s)", ErrNoCheckpoint, dir, CheckpointFile)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return RunConfig{}, nil, err
	}
	meta := f.Metadata()
	if meta["format"] != checkpointFormat {
		return RunConfig{}, nil, fmt.Errorf("train: %s is not a training checkpoint of this version (format %q, want %q)", path, meta["format"], checkpointFormat)
	}
	var rc RunConfig
	if err := json.Unmarshal([]byte(meta["run"]), &rc); err != nil {
		return RunConfig{}, nil, fmt.Errorf("train: %s: run settings: %v", path, err)
	}
	return rc, f, nil
}

// LoadCheckpoint fills params (and, when adam is not nil, the optimizer
// state) from the checkpoint in dir and returns its step. Every parameter
// must be present with its shape, and the file must hold nothing else but
// optimizer state: a checkpoint of another model is an error naming the
// tensor.
func LoadCheckpoint(dir string, params []*Param, adam *Adam) (RunConfig, int, error) {
	rc, f, err := ReadRunConfig(dir)
	if err != nil {
		return rc, 0, err
	}
	path := filepath.Join(dir, CheckpointFile)
	meta := f.Metadata()
	step, err := strconv.Atoi(meta["step"])
	if err != nil || step < 0 {
		return rc, 0, fmt.Errorf("train: %s: step %q is not a count", path, meta["step"])
	}
	want := map[string]bool{}
	load := func(name string, shape []int, dst []float32) error {
		want[name] = true
		info, ok := f.Info(name)
		if !ok {
			return fmt.Errorf("train: %s: missing tensor %q: the checkpoint is of another model", path, name)
		}
		if !slices.Equal(info.Shape, shape) {
			return fmt.Errorf("train: %s: tensor %q has shape %v, the model %v: the checkpoint is of another model", path, name, info.Shape, shape)
		}
		v, _, err := f.Float32s(name)
		if err != nil {
			return err
		}
		copy(dst, v)
		return nil
	}
	if adam != nil {
		adam.M = make([][]float32, len(params))
		adam.V = make([][]float32, len(params))
		if adam.Step, err = strconv.Atoi(meta["adam_step"]); err != nil {
			return rc, 0, fmt.Errorf("train: %s: adam_step %q is not a count", path, meta["adam_step"])
		}
	}
	for i, p := range params {
		if err := load(p.Name, p.Shape, p.W); err != nil {
			return rc, 0, err
		}
		if adam != nil {
			adam.M[i] = make([]float32, len(p.W))
			adam.V[i] = make([]float32, len(p.W))
			if err := load("optim.m."+p.Name, p.Shape, adam.M[i]); err != nil {
				return rc, 0, err
			}
			if err := load("optim.v."+p.Name, p.Shape, adam.V[i]); err != nil {
				return rc, 0, err
			}
		}
	}
	for _, n := range f.Names() {
		if !want[n] && (adam != nil || !isOptimState(n)) {
			return rc, 0, fmt.Errorf("train: %s: unexpected tensor %q: the checkpoint is of another model", path, n)
		}
	}
	return rc, step, nil
}

func isOptimState(name string) bool {
	return len(name) > 8 && (name[:8] == "optim.m." || name[:8] == "optim.v.")
}
