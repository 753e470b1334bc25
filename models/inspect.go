package models

import (
	"encoding/json"
	"path/filepath"
	"slices"
)

// TensorInfo describes one stored tensor.
type TensorInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	File  string `json:"file"`
}

// Inventory is what a checkpoint holds, read without loading the weights.
type Inventory struct {
	Format  Format          `json:"format"`
	Path    string          `json:"path"`
	Config  json.RawMessage `json:"config"` // config.json, or the llama2.c header as JSON
	Tensors []TensorInfo    `json:"tensors"`
}

// Inspect lists the tensors and the configuration of the checkpoint at
// path (see Detect) after checking the file structure: headers, sizes and,
// for sharded folders, the index. Weights are not read, so memory use stays
// small whatever the checkpoint's size.
func Inspect(path string) (*Inventory, error) {
	format, p, err := Detect(path)
	if err != nil {
		return nil, err
	}
	inv := &Inventory{Format: format, Path: p}
	if format == Llama2c {
		f, lay, err := openLlama2c(p)
		if err != nil {
			return nil, err
		}
		f.Close()
		c := lay.cfg
		inv.Config, _ = json.Marshal(map[string]any{
			"dim": c.DModel, "hidden_dim": c.DFF, "n_layers": c.Layers, "n_heads": c.Heads,
			"n_kv_heads": c.KVHeads, "vocab_size": c.Vocab, "seq_len": c.Context, "shared_classifier": lay.shared,
		})
		for _, part := range lay.parts {
			inv.Tensors = append(inv.Tensors, TensorInfo{Name: part.name, DType: "F32", Shape: part.shape, File: filepath.Base(p)})
		}
		return inv, nil
	}
	cfgPath := filepath.Join(p, "config.json")
	var raw json.RawMessage
	if err := readJSON(cfgPath, &raw); err != nil {
		return nil, err
	}
	inv.Config = raw
	files, err := weightFiles(p)
	if err != nil {
		return nil, err
	}
	src, err := openSafetensors(p, files)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if len(files) > 1 || filepath.Base(files[0]) != "model.safetensors" {
		if err := checkIndex(p, src); err != nil {
			return nil, err
		}
	}
	for _, n := range src.names() {
		info, _ := src.files[src.byName[n]].Info(n)
		inv.Tensors = append(inv.Tensors, TensorInfo{Name: n, DType: string(info.DType), Shape: info.Shape, File: filepath.Base(src.paths[src.byName[n]])})
	}
	slices.SortFunc(inv.Tensors, func(a, b TensorInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return inv, nil
}
