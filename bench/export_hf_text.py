#!/usr/bin/env python3
"""Export small Hugging Face text encoders and decoders with random weights to ONNX (TorchScript
exporter, opset 17), with the int64 inputs and PyTorch's last hidden state beside each file, to
check that GraphFuse imports and matches the families people deploy, not only BERT and GPT-2.

    python bench/export_hf_text.py OUT_DIR [FAMILY ...]

For each FAMILY (default: all of the table below) this writes OUT_DIR/FAMILY.onnx,
OUT_DIR/FAMILY.input0.npy, input1… (token ids, an attention mask with a padded tail, token types
where the model takes them) and OUT_DIR/FAMILY.output.bin (float32). Check one with

    graphfuse run OUT_DIR/roberta.onnx --input OUT_DIR/roberta.input0.npy,OUT_DIR/roberta.input1.npy,\
OUT_DIR/roberta.input2.npy --expect OUT_DIR/roberta.output.bin

Configurations are small (2 layers, width 128, vocabulary 8000) so export and check take seconds;
the graphs have the same ops and shapes of reasoning as the full-size models: relative-position
buckets (T5, MPNet), disentangled attention (DeBERTa-v2), rotary embeddings and RMS norms with
grouped-query attention (Llama, Qwen2, Mistral, Gemma), partial rotary embeddings (Phi, GPT-NeoX,
GPT-J), ALiBi position biases (BLOOM), bottlenecks (MobileBERT), grouped 1-d convolutions
(SqueezeBERT), pooling between blocks (Funnel). Weights: the library's initialization with
`torch.manual_seed(0)`; ids uniform in [3, 8000) with seed 2; batch 1, 128 tokens, the last 28
masked. Needs torch, transformers and numpy; not part of the build or the tests.
"""
import sys

import numpy as np
import torch
import transformers as T

SMALL = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512, vocab_size=8000)
DECODER = dict(vocab_size=8000, hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2)

# family: (builds the model, whether it takes token type ids)
FAMILIES = {
    "roberta": (lambda: T.RobertaModel(T.RobertaConfig(**SMALL, max_position_embeddings=514, pad_token_id=1)), True),
    "xlm_roberta": (lambda: T.XLMRobertaModel(
        T.XLMRobertaConfig(**SMALL, max_position_embeddings=514, pad_token_id=1)), True),
    "albert": (lambda: T.AlbertModel(T.AlbertConfig(**SMALL, embedding_size=64)), True),
    "electra": (lambda: T.ElectraModel(T.ElectraConfig(**SMALL, embedding_size=64)), True),
    "mpnet": (lambda: T.MPNetModel(T.MPNetConfig(**SMALL)), False),
    "deberta_v2": (lambda: T.DebertaV2Model(T.DebertaV2Config(**SMALL)), False),  # no token types by default
    "t5_encoder": (lambda: T.T5EncoderModel(
        T.T5Config(vocab_size=8000, d_model=128, d_kv=64, d_ff=512, num_layers=2, num_heads=2)), False),
    "mobilebert": (lambda: T.MobileBertModel(T.MobileBertConfig(
        vocab_size=8000, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512,
        embedding_size=64, intra_bottleneck_size=64)), True),
    "squeezebert": (lambda: T.SqueezeBertModel(T.SqueezeBertConfig(**SMALL, embedding_size=128)), True),
    "funnel": (lambda: T.FunnelBaseModel(
        T.FunnelConfig(vocab_size=8000, block_sizes=[1, 1], d_model=128, n_head=2, d_head=64, d_inner=256)), True),
    "bart_encoder": (lambda: T.BartModel(T.BartConfig(
        vocab_size=8000, d_model=128, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=256, decoder_ffn_dim=256)).get_encoder(), False),
    "llama": (lambda: T.LlamaModel(T.LlamaConfig(**DECODER)), False),
    "qwen2": (lambda: T.Qwen2Model(T.Qwen2Config(**DECODER)), False),
    "mistral": (lambda: T.MistralModel(T.MistralConfig(**DECODER)), False),
    "gemma": (lambda: T.GemmaModel(T.GemmaConfig(**DECODER, head_dim=32)), False),
    "phi": (lambda: T.PhiModel(T.PhiConfig(
        vocab_size=8000, hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4)), False),
    "gpt_neox": (lambda: T.GPTNeoXModel(T.GPTNeoXConfig(
        vocab_size=8000, hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4)), False),
    "gptj": (lambda: T.GPTJModel(T.GPTJConfig(vocab_size=8000, n_embd=128, n_layer=2, n_head=4, rotary_dim=16,
                                             bos_token_id=0, eos_token_id=0)), False),
    "bloom": (lambda: T.BloomModel(T.BloomConfig(vocab_size=8000, hidden_size=128, n_layer=2, n_head=4)), False),
}


class LastHiddenState(torch.nn.Module):
    """The model's first output, with the inputs passed by keyword."""

    def __init__(self, inner, keys):
        super().__init__()
        self.inner, self.keys = inner, keys

    def forward(self, *inputs):
        return self.inner(**dict(zip(self.keys, inputs)))[0]


def export(family, out):
    make, token_types = FAMILIES[family]
    torch.manual_seed(0)
    model = make().eval()
    model.config.return_dict = False
    ids = torch.randint(3, 8000, (1, 128), generator=torch.Generator().manual_seed(2))
    mask = torch.ones(1, 128, dtype=torch.int64)
    mask[0, 100:] = 0
    inputs = (ids, mask) + ((torch.zeros(1, 128, dtype=torch.int64),) if token_types else ())
    keys = ["input_ids", "attention_mask", "token_type_ids"][:len(inputs)]
    wrapped = LastHiddenState(model, keys).eval()
    with torch.no_grad():
        y = wrapped(*inputs)
    torch.onnx.export(wrapped, inputs, f"{out}/{family}.onnx", input_names=keys, output_names=["output"],
                      opset_version=17, dynamo=False)
    for i, t in enumerate(inputs):
        np.save(f"{out}/{family}.input{i}.npy", t.numpy())
    y.numpy().astype(np.float32).tofile(f"{out}/{family}.output.bin")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out, families = sys.argv[1], sys.argv[2:] or list(FAMILIES)
    for family in families:
        if family not in FAMILIES:
            sys.exit(f"unknown family {family}; known: {', '.join(FAMILIES)}")
        try:
            export(family, out)
            print(family, "exported")
        except Exception as e:  # one family's exporter failure does not stop the others
            print(family, "EXPORT FAILED:", type(e).__name__, str(e)[:200])


if __name__ == "__main__":
    main()
