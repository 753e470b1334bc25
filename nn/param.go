package nn

// Param is one learnable tensor of a model being trained: its PyTorch-style
// name, its shape, its values W and its gradient G (same length, row-major).
// Backward passes add into G; optimizers (package train) update W from G.
type Param struct {
	Name  string
	Shape []int
	W, G  []float32
	// NoDecay excludes the tensor from decoupled weight decay (biases, norm
	// gains and embeddings, by the usual convention).
	NoDecay bool
}

// NewParam allocates a zero parameter and its gradient.
func NewParam(name string, noDecay bool, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Param{Name: name, Shape: shape, W: make([]float32, n), G: make([]float32, n), NoDecay: noDecay}
}
