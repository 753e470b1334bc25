package models

// Arch names a model architecture: the family a checkpoint belongs to.
// Code branches on the features a DecoderConfig names, never on Arch;
// Arch is for messages, metadata and the loaders that choose tensor names.
type Arch string

// The architectures Load recognises.
const (
	ArchGPT2    Arch = "gpt2"    // Hugging Face GPT-2 (Conv1D weights)
	ArchLlama   Arch = "llama"   // Hugging Face Llama
	ArchQwen2   Arch = "qwen2"   // Hugging Face Qwen2 (Llama with q/k/v biases)
	ArchMistral Arch = "mistral" // Hugging Face Mistral (Llama with a sliding window)
	ArchLlama2c Arch = "llama2c" // llama2.c's legacy .bin checkpoints
	ArchBert    Arch = "bert"    // Hugging Face BERT encoder
	ArchGPT     Arch = "gpt"     // a decoder-only model written by attn train (nn.GPT)
)

// BOSRule says where a prompt's beginning-of-sequence token goes when text
// is turned into a model's input (Decoder.EncodePrompt).
type BOSRule int

const (
	// BOSNone adds no BOS token (GPT-2); an empty prompt becomes the BOS
	// token alone (GPT-2's <|endoftext|>), as Hugging Face's generate does.
	BOSNone BOSRule = iota
	// BOSFirst starts the prompt with BOS (Llama, Qwen2, Mistral and
	// llama2.c, as their reference code does).
	BOSFirst
	// BOSAfter follows the prompt with BOS: models trained by attn train see
	// "source BOS target EOS", so the answer starts after BOS.
	BOSAfter
)

// String names the rule.
func (r BOSRule) String() string {
	switch r {
	case BOSNone:
		return "none"
	case BOSFirst:
		return "first"
	case BOSAfter:
		return "after"
	}
	return "BOSRule(?)"
}
