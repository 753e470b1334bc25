// Package nn holds the layers around attention: Linear, token embeddings and
// the positional encodings of the paper (the "input representation" of a
// transformer).
//
// Parameters use PyTorch's layouts and names (Linear.weight is
// [out_features, in_features], y = x·Wᵀ + b; Embedding.weight is
// [num_embeddings, embedding_dim]), so state dicts move between the two
// unchanged. Every Forward validates its arguments and returns an error that
// names the argument, the shape seen and the shape wanted.
package nn
