package sim

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func openAIClient(base string) *openai.Client {
	cc := openai.DefaultConfig("sk-test")
	cc.BaseURL = base + "/v1"
	return openai.NewClientWithConfig(cc)
}

func TestOpenAIClientNonStreaming(t *testing.T) {
	cfg := testConfig(t, nil)
	_, ts := startTest(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := openAIClient(ts.URL)
	sys, user := "You answer.", words(300)
	resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model: "whatever",
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: sys},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(cfg)
	want := s.tok.Count(sys) + s.tok.Count(user) + cfg.TemplateOverhead
	if resp.Usage.PromptTokens != want {
		t.Errorf("prompt_tokens %d, want %d (contents + %d template)", resp.Usage.PromptTokens, want, cfg.TemplateOverhead)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != openai.FinishReasonStop {
		t.Fatalf("choices %+v", resp.Choices)
	}
	if got := s.tok.Count(resp.Choices[0].Message.Content); got != resp.Usage.CompletionTokens {
		t.Errorf("completion_tokens %d, answer has %d", resp.Usage.CompletionTokens, got)
	}
	if resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens || resp.Usage.PromptTokensDetails == nil {
		t.Errorf("usage %+v", resp.Usage)
	}
	if resp.Model != "whatever" || resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("model %q object %q id %q", resp.Model, resp.Object, resp.ID)
	}
}

func TestOpenAIClientStreaming(t *testing.T) {
	for _, scale := range []float64{0, 0.001} {
		cfg := testConfig(t, func(c *Config) { c.TimeScale = scale })
		_, ts := startTest(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream, err := openAIClient(ts.URL).CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
			Model:         "m",
			Messages:      []openai.ChatCompletionMessage{{Role: "user", Content: words(50)}},
			Stream:        true,
			StreamOptions: &openai.StreamOptions{IncludeUsage: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		var kinds []string
		var usage *openai.Usage
		for range 1000 {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("scale %v: %v", scale, err)
			}
			switch {
			case chunk.Usage != nil:
				if len(chunk.Choices) != 0 {
					t.Errorf("usage chunk has %d choices", len(chunk.Choices))
				}
				usage = chunk.Usage
				kinds = append(kinds, "usage")
			case chunk.Choices[0].Delta.Role == "assistant":
				kinds = append(kinds, "role")
			case chunk.Choices[0].FinishReason != "":
				kinds = append(kinds, "finish:"+string(chunk.Choices[0].FinishReason))
			default:
				text.WriteString(chunk.Choices[0].Delta.Content)
				if len(kinds) == 0 || kinds[len(kinds)-1] != "content" {
					kinds = append(kinds, "content")
				}
			}
		}
		stream.Close()
		if got := strings.Join(kinds, ","); got != "role,content,finish:stop,usage" {
			t.Errorf("scale %v: chunk sequence %s", scale, got)
		}
		srv, _ := New(cfg)
		if usage == nil || usage.CompletionTokens < 1 || usage.PromptTokens != srv.tok.Count(words(50))+cfg.TemplateOverhead {
			t.Fatalf("scale %v: usage %+v", scale, usage)
		}
		if usage.TotalTokens != usage.PromptTokens+usage.CompletionTokens || usage.PromptTokensDetails == nil {
			t.Errorf("usage %+v", usage)
		}
		if text.Len() == 0 {
			t.Errorf("no content streamed")
		}
	}
}

func TestOpenAIMaxTokensCutsAnswer(t *testing.T) {
	_, ts := startTest(t, testConfig(t, func(c *Config) { c.OutputTokens = 30 }))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := openAIClient(ts.URL)
	for _, tt := range []struct {
		max    int
		finish openai.FinishReason
		tokens int
	}{{3, openai.FinishReasonLength, 3}, {100, openai.FinishReasonStop, 30}} {
		resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
			Model: "m", MaxTokens: tt.max, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hello"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].FinishReason != tt.finish || resp.Usage.CompletionTokens != tt.tokens {
			t.Errorf("max_tokens %d: finish %q, %d tokens; want %q, %d", tt.max, resp.Choices[0].FinishReason, resp.Usage.CompletionTokens, tt.finish, tt.tokens)
		}
	}
}

func TestModelsListsContextWindow(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.ContextWindow = 4096 })
	_, ts := startTest(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	models, err := openAIClient(ts.URL).ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models.Models) != 1 || models.Models[0].ID != cfg.Model {
		t.Fatalf("models %+v", models.Models)
	}
	resp, err := ts.Client().Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"max_model_len":4096`) {
		t.Errorf("models body lacks max_model_len: %s", body)
	}
}
