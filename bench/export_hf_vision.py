#!/usr/bin/env python3
"""Export small Hugging Face vision and audio models with random weights to ONNX (TorchScript exporter,
opset 17), with the float32 input and PyTorch's first output beside each file, to check that GraphFuse
imports and matches the image and speech families people deploy, not only torchvision's classifiers.

    python bench/export_hf_vision.py OUT_DIR [FAMILY ...]

For each FAMILY (default: all of the table below) this writes OUT_DIR/FAMILY.onnx,
OUT_DIR/FAMILY.input.bin (the one input: pixels, a waveform or a spectrogram, raw float32 in C order)
and OUT_DIR/FAMILY.output.bin (float32: the model's first output, `model(pixel_values=x)[0]` or
`model(input_values=x)[0]`, the last hidden state or, for the depth and segmentation heads, the
prediction). Check one with

    graphfuse run OUT_DIR/swinv2.onnx --input OUT_DIR/swinv2.input.bin --expect OUT_DIR/swinv2.output.bin

Configurations are small (2–6 blocks, widths 16–128, images 64–192, one second of 16 kHz audio) so
export and check take seconds; the graphs have the same ops and shapes of reasoning as the full-size
models: relative position biases (BEiT, Data2Vec-vision), interpolated position embeddings (DINOv2 at
an image size other than its configuration's, YOLOS, DPT), shifted windows (Swin) with log-spaced
continuous position biases (Swin V2), global response normalization (ConvNeXt V2), squeeze-excitation
(RegNet), unfolded patches (MobileViT) and separable linear attention (MobileViT V2: its fold is
col2im, which the TorchScript exporter has only from opset 18, so it fails here), spatial-reduction
attention (SegFormer, GLPN, PVT, PVT V2), attention-bias tables (LeViT), convolutional projections
(CvT), pooling mixers (PoolFormer), focal modulation (FocalNet), weight-standardized convolutions with
same padding (BiT), a pyramid-pooling decoder (UperNet), an encoder-decoder with sine position
embeddings (DETR, on a transformers ResNet backbone), and for audio strided 1-d convolution feature
extractors with weight-normed grouped positional convolutions (wav2vec 2.0, HuBERT, WavLM with gated
relative position buckets, SEW with squeezed sequences), Whisper's encoder and the Audio Spectrogram
Transformer. Families whose class is missing from the installed transformers, or that need a package
or a download this script does not make (NAT/DiNAT: natten; ViT-MAE: random masking), are skipped
with the reason. Weights: the library's initialization with `torch.manual_seed(0)`, then perturbed
as export_torchvision.py does so that no part of the graph is trivial: every parameter whose values
are all equal gets random ones (zeros → N(0, 0.02²), a constant c → c·U(0.5, 1.5) for |c| ≥ 0.1,
U(0.05, 0.2) below) and batch-norm running statistics become mean N(0, 0.1²), variance U(0.5, 1.5).
The library leaves BEiT's, Swin's and LeViT's relative position bias tables, the position embeddings
of DeiT, YOLOS, DPT and AST and ConvNeXt V2's GRN at zero, and layer scales at 1e-6 or 1e-5, which hide
those ops from the check. Where the output still vanishes (standard deviation 0.02 through stacks of
convolutions whose eval-mode batch norms do not renormalize: MobileViT, DPT's fusion head, UperNet) the
configuration's initializer_range is raised to bring it near 1. Batch 1, input `torch.randn` with
seed 2. Needs torch, transformers and numpy; not part of the build or the tests.
"""
import sys

import numpy as np
import torch
import transformers as T

from export_torchvision import perturb  # the same perturbation, beside this script

VIT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, image_size=64,
           patch_size=8)
AUDIO = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
             conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
IMAGE = (1, 3, 64, 64)
WAVE = (1, 16000)


def cls(name):
    """The transformers class `name`, or a Skip naming the installed version that lacks it."""
    if not hasattr(T, name):
        raise Skip(f"transformers {T.__version__} has no {name}")
    return getattr(T, name)


class Skip(Exception):
    """A family this transformers cannot build here."""


# family: (builds the model, input shape, input keyword)
FAMILIES = {
    "vit": (lambda: T.ViTModel(T.ViTConfig(**VIT)), IMAGE, "pixel_values"),
    "deit": (lambda: T.DeiTModel(T.DeiTConfig(**VIT)), IMAGE, "pixel_values"),
    "beit": (lambda: T.BeitModel(T.BeitConfig(**VIT, use_relative_position_bias=True)), IMAGE, "pixel_values"),
    "data2vec_vision": (lambda: T.Data2VecVisionModel(
        T.Data2VecVisionConfig(**VIT, use_relative_position_bias=True)), IMAGE, "pixel_values"),
    # configured for 56×56 (4×4 patches), run at 64×64 so the position embeddings are interpolated
    "dinov2": (lambda: T.Dinov2Model(T.Dinov2Config(**dict(VIT, image_size=56, patch_size=14))), IMAGE,
               "pixel_values"),
    "clip_vision": (lambda: T.CLIPVisionModel(T.CLIPVisionConfig(**VIT)), IMAGE, "pixel_values"),
    "siglip_vision": (lambda: T.SiglipVisionModel(T.SiglipVisionConfig(**VIT)), IMAGE, "pixel_values"),
    "yolos": (lambda: T.YolosModel(T.YolosConfig(**dict(VIT, image_size=[64, 96]), num_detection_tokens=10)),
              (1, 3, 64, 96), "pixel_values"),
    "swin": (lambda: T.SwinModel(T.SwinConfig(image_size=64, patch_size=4, embed_dim=32, depths=[2, 2],
                                              num_heads=[2, 4], window_size=4)), IMAGE, "pixel_values"),
    "swinv2": (lambda: T.Swinv2Model(T.Swinv2Config(image_size=64, patch_size=4, embed_dim=32, depths=[2, 2],
                                                    num_heads=[2, 4], window_size=4, pretrained_window_sizes=[0, 0])),
               IMAGE, "pixel_values"),
    "convnext": (lambda: T.ConvNextModel(T.ConvNextConfig(hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1])),
                 IMAGE, "pixel_values"),
    "convnextv2": (lambda: T.ConvNextV2Model(T.ConvNextV2Config(hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1])),
                   IMAGE, "pixel_values"),
    "regnet": (lambda: T.RegNetModel(T.RegNetConfig(embedding_size=16, hidden_sizes=[24, 48, 96, 192],
                                                    depths=[1, 1, 1, 1], groups_width=8)), IMAGE, "pixel_values"),
    "resnet": (lambda: T.ResNetModel(T.ResNetConfig(embedding_size=16, hidden_sizes=[32, 64, 128, 256],
                                                    depths=[1, 1, 1, 1])), IMAGE, "pixel_values"),
    "bit": (lambda: T.BitModel(T.BitConfig(embedding_size=16, hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 1, 1],
                                           num_groups=8, global_padding="SAME", embedding_dynamic_padding=True)),
            IMAGE, "pixel_values"),
    "mobilevit": (lambda: T.MobileViTModel(T.MobileViTConfig(
        image_size=128, hidden_sizes=[48, 64, 80], neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320],
        num_attention_heads=2, initializer_range=0.2)), (1, 3, 128, 128), "pixel_values"),
    "mobilevitv2": (lambda: T.MobileViTV2Model(T.MobileViTV2Config(image_size=128, width_multiplier=0.5,
                                                                   n_attn_blocks=[1, 1, 1])),
                    (1, 3, 128, 128), "pixel_values"),
    "segformer": (lambda: T.SegformerModel(T.SegformerConfig(
        depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], num_attention_heads=[1, 1, 2, 4])), IMAGE, "pixel_values"),
    "glpn": (lambda: T.GLPNForDepthEstimation(T.GLPNConfig(
        depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], num_attention_heads=[1, 1, 2, 4], decoder_hidden_size=32)),
             IMAGE, "pixel_values"),
    "levit": (lambda: T.LevitModel(T.LevitConfig(
        image_size=112, hidden_sizes=[64, 96, 128], num_attention_heads=[2, 3, 4], depths=[1, 1, 1],
        key_dim=[16, 16, 16])), (1, 3, 112, 112), "pixel_values"),
    "poolformer": (lambda: T.PoolFormerModel(T.PoolFormerConfig(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128])),
                   IMAGE, "pixel_values"),
    # stage i needs more than i blocks: transformers 5 indexes the stage's drop-path rates by the stage number
    "cvt": (lambda: T.CvtModel(T.CvtConfig(embed_dim=[32, 64, 128], num_heads=[1, 2, 2], depth=[1, 2, 3])), IMAGE,
            "pixel_values"),
    "efficientformer": (lambda: cls("EfficientFormerModel")(cls("EfficientFormerConfig")(
        depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], num_meta3d_blocks=1)), (1, 3, 224, 224), "pixel_values"),
    "pvt": (lambda: T.PvtModel(T.PvtConfig(image_size=64, depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128],
                                           num_attention_heads=[1, 1, 2, 4])), IMAGE, "pixel_values"),
    "pvt_v2": (lambda: T.PvtV2Model(T.PvtV2Config(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128],
                                                  num_attention_heads=[1, 1, 2, 4])), IMAGE, "pixel_values"),
    "focalnet": (lambda: T.FocalNetModel(T.FocalNetConfig(image_size=64, embed_dim=32, hidden_sizes=[64, 128],
                                                          depths=[1, 1])), IMAGE, "pixel_values"),
    # the depth prediction; 4 layers tapped by the reassembly stages, configured for 64×64, run at 96×96
    "dpt": (lambda: T.DPTForDepthEstimation(T.DPTConfig(
        **dict(VIT, num_hidden_layers=4, patch_size=16), backbone_out_indices=[0, 1, 2, 3],
        neck_hidden_sizes=[16, 32, 64, 128], fusion_hidden_size=32, head_hidden_size=16, initializer_range=0.08)),
            (1, 3, 96, 96), "pixel_values"),
    # 192×192: the last stage's 6×6 map divides by every pyramid pooling scale (1, 2, 3, 6)
    "upernet": (lambda: T.UperNetForSemanticSegmentation(T.UperNetConfig(
        backbone_config=T.ConvNextConfig(hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                                         out_features=["stage1", "stage2", "stage3", "stage4"]),
        hidden_size=32, use_auxiliary_head=False, num_labels=8, initializer_range=0.05)), (1, 3, 192, 192),
                "pixel_values"),
    # the decoder's last hidden state; a transformers ResNet backbone, so nothing is downloaded
    "detr": (lambda: T.DetrModel(T.DetrConfig(
        backbone_config=T.ResNetConfig(embedding_size=16, hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 1, 1],
                                       out_features=["stage4"]),
        d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=128, decoder_ffn_dim=128, num_queries=10)), IMAGE, "pixel_values"),
    "wav2vec2": (lambda: T.Wav2Vec2Model(T.Wav2Vec2Config(**AUDIO)), WAVE, "input_values"),
    "hubert": (lambda: T.HubertModel(T.HubertConfig(**AUDIO)), WAVE, "input_values"),
    "wavlm": (lambda: T.WavLMModel(T.WavLMConfig(**AUDIO, num_buckets=32, max_bucket_distance=100)), WAVE,
              "input_values"),
    "sew": (lambda: T.SEWModel(T.SEWConfig(**dict(AUDIO, conv_dim=(32,) * 13))), WAVE, "input_values"),
    # 80 mel bins × 200 frames: the encoder checks the length against 2 × max_source_positions
    "whisper_encoder": (lambda: T.WhisperModel(T.WhisperConfig(
        d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=100)).get_encoder(),
                        (1, 80, 200), "input_features"),
    # 128 frames × 64 mel bins, 16×16 patches every 10 in both directions
    "audio_spectrogram_transformer": (lambda: T.ASTModel(T.ASTConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, max_length=128,
        num_mel_bins=64)), (1, 128, 64), "input_values"),
}

# family: why this script leaves it out
SKIPPED = {
    "dinat": "needs the natten package",
    "nat": "needs the natten package",
    "vitmae": "masks a random subset of patches on every call",
    "mask2former": "not attempted: a multi-scale deformable pixel decoder with a Swin backbone",
    "table_transformer": "not attempted: DETR's graph again",
    "unispeech": "not attempted: wav2vec 2.0's encoder again",
}


class FirstOutput(torch.nn.Module):
    """The model's first output (what `return_dict=False` puts first), with the input passed by keyword. The
    output object is indexed rather than `config.return_dict` cleared: in transformers 5 that makes inner modules
    return tuples to parents that read fields (DINOv2, Swin, ConvNeXt, HuBERT, DETR)."""

    def __init__(self, inner, key):
        super().__init__()
        self.inner, self.key = inner, key

    def forward(self, x):
        return self.inner(**{self.key: x})[0]


def export(family, out):
    make, shape, key = FAMILIES[family]
    torch.manual_seed(0)
    model = make()
    perturb(model, torch)
    model.eval()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2))
    wrapped = FirstOutput(model, key).eval()
    with torch.no_grad():
        y = wrapped(x)
    torch.onnx.export(wrapped, (x,), f"{out}/{family}.onnx", input_names=[key], output_names=["output"],
                      opset_version=17, dynamo=False)
    x.numpy().astype(np.float32).tofile(f"{out}/{family}.input.bin")
    y.numpy().astype(np.float32).tofile(f"{out}/{family}.output.bin")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out, families = sys.argv[1], sys.argv[2:] or list(FAMILIES) + list(SKIPPED)
    for family in families:
        if family in SKIPPED:
            print(family, "skipped:", SKIPPED[family])
            continue
        if family not in FAMILIES:
            sys.exit(f"unknown family {family}; known: {', '.join(FAMILIES)}")
        try:
            export(family, out)
            print(family, "exported")
        except Skip as e:
            print(family, "skipped:", e)
        except Exception as e:  # one family's exporter failure does not stop the others
            print(family, "EXPORT FAILED:", type(e).__name__, str(e)[:200])


if __name__ == "__main__":
    main()
