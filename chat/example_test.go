package chat_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/attn-go/attn/chat"
)

// A ChatML template, as Qwen's and many other configs carry it.
func Example() {
	config := []byte(`{
		"eos_token": "<|im_end|>",
		"chat_template": "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
	}`)
	tmpl, err := chat.Parse(config)
	if err != nil {
		log.Fatal(err)
	}
	prompt, err := tmpl.Render([]chat.Message{
		{Role: "system", Content: "You are a helpful assistant."},
		{Role: "user", Content: "What is the capital of France?"},
	}, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(prompt)
	fmt.Println("stop at", tmpl.EOS())
	// Output:
	// <|im_start|>system
	// You are a helpful assistant.<|im_end|>
	// <|im_start|>user
	// What is the capital of France?<|im_end|>
	// <|im_start|>assistant
	// stop at <|im_end|>
}

// A template that refuses a conversation says why, in the template's words.
func ExampleRaiseError() {
	config := []byte(`{"chat_template": "{% if messages[0].role != 'user' %}{{ raise_exception('Conversations must start with a user turn') }}{% endif %}ok"}`)
	tmpl, err := chat.Parse(config)
	if err != nil {
		log.Fatal(err)
	}
	_, err = tmpl.Render([]chat.Message{{Role: "assistant", Content: "Hi"}}, chat.Options{})
	var raised *chat.RaiseError
	if errors.As(err, &raised) {
		fmt.Println(raised.Message)
	}
	// Output:
	// Conversations must start with a user turn
}
