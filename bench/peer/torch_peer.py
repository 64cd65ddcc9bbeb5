"""PyTorch peer for `deno task bench`: the same LoRA training step, greedy generation and
peak-memory measurement as the project's bench, run with transformers + PEFT on the CPU.

Started by `bench/peer.ts` (never by the project itself). It builds the models described by a
JSON spec given as the only argument, prints one `ready` line, then answers commands read one
per line on stdin, each with one JSON line on stdout:

  train            one optimizer step (micro-batches, summed gradients, AdamW) -> {"seconds"}
  gen <name> <0|1> one greedy generation of the named case, cache off/on -> {"seconds", "tokens"}
  rss              peak resident memory of this process so far -> {"peakRssBytes"}
  quit

The bench alternates these calls with its own steps, so both sides see the same machine load.
With `--rss-only`, it builds the training model, runs two steps and prints the peak RSS, for a
process that holds nothing else.
"""

import json
import sys
import time


def peak_rss_bytes():
    """VmHWM from /proc (Linux), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def llama(cfg):
    from transformers import LlamaConfig, LlamaForCausalLM

    conf = LlamaConfig(
        vocab_size=cfg["vocab"],
        hidden_size=cfg["hidden"],
        intermediate_size=cfg["intermediate"],
        num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"],
        num_key_value_heads=cfg.get("kvHeads", cfg["heads"]),
        head_dim=cfg["hidden"] // cfg["heads"],
        max_position_embeddings=max(256, cfg.get("maxPositions", 256)),
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    return LlamaForCausalLM(conf).float()


def ids(torch, batch, seq, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, vocab, (batch, seq), generator=g)


class Trainer:
    def __init__(self, torch, spec):
        from peft import LoraConfig, get_peft_model

        s = spec["train"]
        torch.manual_seed(1)
        base = llama(s)
        lora = LoraConfig(
            r=s["loraR"], lora_alpha=4, lora_dropout=0.0, target_modules=list(s["loraTargets"])
        )
        self.model = get_peft_model(base, lora)
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
        x = ids(torch, s["batch"], s["seq"], s["vocab"], 3)
        micro = max(1, min(s["microBatch"], s["batch"]))
        self.parts = [(x[r : r + micro], x[r : r + micro].shape[0] / s["batch"]) for r in range(0, s["batch"], micro)]
        self.torch = torch

    def step(self):
        t0 = time.perf_counter()
        for part, w in self.parts:
            out = self.model(input_ids=part, labels=part)
            (out.loss * w).backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0


class Generator:
    def __init__(self, torch, case):
        torch.manual_seed(1)
        self.model = llama(case["model"]).eval()
        self.prompt = ids(torch, case["batch"], case["prompt"], case["model"]["vocab"], 5)
        self.new = case["newTokens"]
        self.torch = torch

    def run(self, cache):
        with self.torch.no_grad():
            t0 = time.perf_counter()
            out = self.model.generate(
                input_ids=self.prompt,
                attention_mask=self.torch.ones_like(self.prompt),
                max_new_tokens=self.new,
                min_new_tokens=self.new,
                do_sample=False,
                use_cache=cache,
                pad_token_id=0,
            )
            seconds = time.perf_counter() - t0
        return seconds, int(out.shape[0] * (out.shape[1] - self.prompt.shape[1]))


def main():
    rss_only = "--rss-only" in sys.argv
    spec = json.loads([a for a in sys.argv[1:] if not a.startswith("--")][0])
    import torch
    import transformers
    import peft

    torch.set_num_threads(int(spec.get("threads", 2)))
    if rss_only:
        trainer = Trainer(torch, spec)
        for _ in range(2):
            trainer.step()
        print(json.dumps({"peakRssBytes": peak_rss_bytes()}), flush=True)
        return
    trainer = Trainer(torch, spec) if spec.get("train") else None
    gens = {name: Generator(torch, case) for name, case in spec.get("generate", {}).items()}
    print(
        json.dumps(
            {
                "ready": True,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "peft": peft.__version__,
                "threads": torch.get_num_threads(),
            }
        ),
        flush=True,
    )
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] == "train":
            print(json.dumps({"seconds": trainer.step()}), flush=True)
        elif cmd[0] == "gen":
            seconds, tokens = gens[cmd[1]].run(cmd[2] == "1")
            print(json.dumps({"seconds": seconds, "tokens": tokens}), flush=True)
        elif cmd[0] == "rss":
            print(json.dumps({"peakRssBytes": peak_rss_bytes()}), flush=True)
        else:
            print(json.dumps({"error": f"unknown command {cmd[0]}"}), flush=True)


if __name__ == "__main__":
    main()
