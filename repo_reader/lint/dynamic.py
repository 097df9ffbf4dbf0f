"""What `check --dynamic` looks for: each check's code, name, severity and explanation, so that
--explain, --select and SARIF treat it like a static rule. The checks run in trace/health_checks.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from repo_reader.lint.rule import Hit, Rule
from repo_reader.model import Severity

if TYPE_CHECKING:
    from repo_reader.lint.context import LintContext


class DynamicCheck(Rule):
    """A check made by running the model in a child process; it never looks at source alone."""

    def check(self, context: LintContext) -> Iterator[Hit]:
        return iter(())


class RegisteredNeverRuns(DynamicCheck):
    """## What it does
    Runs one forward pass in train mode and lists the registered submodules with parameters that
    never ran.

    ## Why is this bad
    A layer that is built but never called still counts in `parameters()`: it is saved, moved and
    handed to the optimizer, it costs memory, and under DistributedDataParallel its missing
    gradients raise "parameters that were not used in producing loss". Usually it is a leftover
    (`head_v1`) or a branch that the forward pass forgets to take.

    ## Example
    ```python
    self.head_v1 = nn.Linear(hidden, hidden)  # forward only uses self.out
    ```

    ## Use instead
    ```python
    # delete the unused layer, or call it in forward
    ```
    """

    code = "RR151"
    name = "registered-never-runs"
    severity = Severity.WARNING


class RunsUnregistered(DynamicCheck):
    """## What it does
    Watches every module call during one forward pass (a global forward hook) and reports modules
    that ran but are not registered in the model.

    ## Why is this bad
    A layer built inside `forward`, or kept where `nn.Module` cannot see it, is re-created or
    ignored: its parameters are never trained, never moved with `.to(device)` and never saved.

    ## Example
    ```python
    def forward(self, x):
        norm = nn.LayerNorm(x.shape[-1])
        return norm(x)
    ```

    ## Use instead
    ```python
    self.norm = nn.LayerNorm(hidden)  # in __init__
    ```
    """

    code = "RR152"
    name = "runs-unregistered"
    severity = Severity.ERROR


class NoGradient(DynamicCheck):
    """## What it does
    Runs one forward and backward pass and lists trainable parameters whose `.grad` stays `None`.

    ## Why is this bad
    A parameter with `requires_grad=True` that receives no gradient never trains: a `.detach()`,
    a `torch.no_grad()` block, an integer cast or an unused branch cuts it off from the loss.

    ## Example
    ```python
    h = h + (self.scale * h).detach()
    ```

    ## Use instead
    ```python
    h = h + self.scale * h
    ```
    """

    code = "RR153"
    name = "no-gradient"
    severity = Severity.WARNING


class EvalNotDeterministic(DynamicCheck):
    """## What it does
    After `model.eval()`, runs the same input twice with different random seeds and compares
    the outputs.

    ## Why is this bad
    In evaluation the model should be a function of its input. Different outputs mean dropout or
    another random operation ignores the module's mode (`F.dropout(x, p, training=True)`, or a
    flag of its own), so validation numbers are noisy and pessimistic.

    ## Example
    ```python
    h = F.dropout(h, 0.5, training=True)
    ```

    ## Use instead
    ```python
    h = F.dropout(h, 0.5, training=self.training)
    ```
    """

    code = "RR251"
    name = "eval-not-deterministic"
    severity = Severity.ERROR


class InitialLoss(DynamicCheck):
    """## What it does
    For a model that returns `(batch, classes)` logits, computes the cross-entropy of one forward
    pass on 8 synthesized samples with random labels and compares it with `ln(classes)`.

    ## Why is this bad
    At initialisation a classifier should be unsure: its loss is close to `ln(C)`. A much larger
    loss means confident wrong predictions (a last layer initialised too large, unnormalised
    input), which wastes the first steps undoing the initialisation or diverges.

    ## Example
    ```python
    self.out.weight.mul_(100.0)
    ```

    ## Use instead
    ```python
    # keep PyTorch's default init for the last layer, or initialise it small or to zero
    ```
    """

    code = "RR451"
    name = "initial-loss"
    severity = Severity.WARNING


class LossTermScales(DynamicCheck):
    """## What it does
    Finds in the training loop the loss built as a sum of terms (`loss = ce + w * penalty`), runs
    the loop's statements up to it once on a synthesized batch of 8 with the model built as
    `trace` builds it (options at their defaults), and compares the terms' magnitudes.

    ## Why is this bad
    When one term is more than 100 times larger than another, the small one barely reaches the
    gradient: the model optimises the large term alone, and the weight that was meant to balance
    them is off by orders of magnitude.

    ## Example
    ```python
    loss = ce + 1000.0 * logits.pow(2).mean()
    ```

    ## Use instead
    ```python
    loss = ce + 1e-3 * logits.pow(2).mean()  # weights chosen so that each term contributes
    ```
    """

    code = "RR452"
    name = "loss-term-scales"
    severity = Severity.WARNING


class WeightScale(DynamicCheck):
    """## What it does
    Compares the standard deviation of each linear and convolution weight after construction
    with `1/sqrt(fan_in)`.

    ## Why is this bad
    Weights far larger than their fan-in allows make activations grow layer by layer (saturated
    non-linearities, exploding losses); far smaller ones make the signal vanish. PyTorch's
    default and He/Xavier initialisations all keep `std * sqrt(fan_in)` near 1.

    ## Example
    ```python
    nn.init.normal_(self.fc2.weight, std=1.0)  # fan-in 256
    ```

    ## Use instead
    ```python
    nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")
    ```
    """

    code = "RR453"
    name = "weight-scale"
    severity = Severity.WARNING


class NonFiniteValues(DynamicCheck):
    """## What it does
    Looks for NaN or Inf in the outputs of one forward pass and in the gradients after backward.

    ## Why is this bad
    One NaN spreads to every parameter at the next optimiser step and the run is lost. At
    initialisation it points at a division by zero, a `log` of zero, an overflow in half
    precision or an uninitialised tensor (`torch.empty`).

    ## Example
    ```python
    self.scale = nn.Parameter(torch.empty(dim))
    ```

    ## Use instead
    ```python
    self.scale = nn.Parameter(torch.ones(dim))
    ```
    """

    code = "RR454"
    name = "non-finite-values"
    severity = Severity.ERROR


class CannotOverfit(DynamicCheck):
    """## What it does
    Trains the classifier with Adam on 8 fixed samples with random labels, at most 100 steps at
    lr 1e-2 and, if that fails, 100 at 1e-3, and reports when the loss never falls below 20% of
    its start. The weights are restored afterwards.

    ## Why is this bad
    Any model with enough capacity memorises 8 samples quickly. If it cannot, something blocks
    learning: parameters without gradients, a detached output, a saturated activation, a frozen
    layer or a wrong loss.

    ## Example
    ```python
    return self.bias.expand(x.shape[0], classes)  # the output ignores the input
    ```

    ## Use instead
    ```python
    return self.head(self.body(x))
    ```
    """

    code = "RR455"
    name = "cannot-overfit"
    severity = Severity.WARNING


DYNAMIC_CHECKS: tuple[type[DynamicCheck], ...] = (
    RegisteredNeverRuns, RunsUnregistered, NoGradient, EvalNotDeterministic, InitialLoss, LossTermScales,
    WeightScale, NonFiniteValues, CannotOverfit,
)


def dynamic_check(code: str) -> type[DynamicCheck]:
    """The check with this code (the child reports codes; names and severities come from here)."""
    return next(check for check in DYNAMIC_CHECKS if check.code == code)
