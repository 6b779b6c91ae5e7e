"""Multi-process training (torch.distributed DDP, launched by torchrun): the process group, the launch
of a stage under torchrun, and the collectives that keep state outside the optimiser identical.

One process = one rank; the stage script runs on every rank. Gradients are averaged by DDP; the
centre-loss centres (losses.update_centres with `reduce=all_reduce_sum`) and the running statistics of
BatchNorm layers in training mode (`average_running_stats`) are all-reduced after every step, so every
rank holds the same model, head, centres and buffers. Rank 0 alone writes checkpoints and outputs.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist
from torch import nn

log = logging.getLogger(__name__)

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class DistContext:
    """This process's place in the process group (initialised by `init_from_env`)."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    backend: str  # gloo (CPU) or nccl (CUDA)

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints and outputs and logs to MLflow."""
        return self.rank == 0

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise sum of `tensor` over all ranks (a new tensor; every rank gets the same bits)."""
        out = tensor.clone()
        torch_dist.all_reduce(out, op=torch_dist.ReduceOp.SUM)
        return out

    def all_reduce_max(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise maximum of `tensor` over all ranks."""
        out = tensor.clone()
        torch_dist.all_reduce(out, op=torch_dist.ReduceOp.MAX)
        return out

    def barrier(self) -> None:
        """Wait until every rank reaches this point."""
        torch_dist.barrier()


def under_torchrun() -> bool:
    """True when this process was started by torchrun (RANK, WORLD_SIZE and LOCAL_RANK are set)."""
    return all(key in os.environ for key in TORCHRUN_ENV)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent (torchrun's agent) dies. torchrun starts
    each rank in a session of its own, so a kill -9 of the stage's process group reaches the agent
    only; without this the ranks would go on training and writing checkpoints beside the rerun."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:  # the agent died before the request took effect
        raise SystemExit("torchrun's agent is gone; stopping this rank")


def init_from_env(device: str) -> tuple[DistContext, str]:
    """Join the process group torchrun describes in the environment: nccl for a CUDA `device` (this
    rank's GPU: cuda:LOCAL_RANK), else gloo. Returns the context and this rank's device. The rank dies
    with torchrun's agent (`die_with_parent`)."""
    die_with_parent()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    if torch.device(device).type == "cuda":
        backend, device = "nccl", f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    else:
        backend = "gloo"
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend=backend, timeout=dt.timedelta(minutes=30))
    log.info("rank %d of %d (local %d of %d), backend %s, device %s",
             rank, world, local_rank, local_world, backend, device)
    return DistContext(rank, world, local_rank, local_world, backend), device


def shutdown() -> None:
    """Leave the process group (at the end of a stage)."""
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def torchrun_argv(processes: int, module: str, args: Sequence[str]) -> list[str]:
    """The command that runs `python -m module args` on `processes` ranks on this machine
    (torchrun --standalone: a local rendezvous on a free port)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
            "-m", module, *args]


def relaunch_under_torchrun(processes: int, module: str, args: Sequence[str]) -> None:
    """Replace this process by torchrun running `module` on `processes` ranks (never returns). The
    process keeps its id, so whoever started the stage (DVC, a test) waits for and signals torchrun."""
    argv = torchrun_argv(processes, module, args)
    log.info("starting %d training processes: %s", processes, " ".join(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


class EmbedForward(nn.Module):
    """The model and the head as one module for DistributedDataParallel: forward is the model's
    unnormalised embedding; the head's parameters get their gradients through the loss, so DDP
    averages them with the model's."""

    def __init__(self, model: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, D) unnormalised embeddings."""
        return self.model.embed_unnormalised(images)  # type: ignore[operator]


def wrap_ddp(model: nn.Module, head: nn.Module, dist: DistContext, device: torch.device) -> nn.Module:
    """DistributedDataParallel over model + head. Buffers are not broadcast from rank 0 at every forward:
    `average_running_stats` all-reduces them after every step instead."""
    ids = [device.index] if device.type == "cuda" and device.index is not None else None
    return nn.parallel.DistributedDataParallel(EmbedForward(model, head), device_ids=ids, broadcast_buffers=False)


def _running_stats(module: nn.Module) -> list[torch.Tensor]:
    stats: list[torch.Tensor] = []
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm) and sub.training and sub.track_running_stats:
            stats += [t for t in (sub.running_mean, sub.running_var) if t is not None]
    return stats


@torch.no_grad()
def average_running_stats(module: nn.Module, dist: DistContext) -> None:
    """Average the running mean and variance of the BatchNorm layers in training mode over all ranks
    (frozen layers are in eval mode and never change). The mean is then exactly the moving average of
    the global batch means; the variance is the mean of the ranks' batch variances."""
    stats = _running_stats(module)
    if not stats:
        return
    flat = dist.all_reduce_sum(torch.cat([t.reshape(-1) for t in stats])) / dist.world_size
    offset = 0
    for t in stats:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()
