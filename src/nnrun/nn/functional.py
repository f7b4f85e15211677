"""Stateless neural-network functions (``nnrun.nn.functional``, imported as ``F``).

Each name is the op's own public function (one hop to its ``Function``), with PyTorch's signature.
"""

from __future__ import annotations

from nnrun._tensor import Tensor
from nnrun.ops import activation as _activation
from nnrun.ops import activation_extra as _activation_extra
from nnrun.ops import attention as _attention
from nnrun.ops import conv as _conv
from nnrun.ops import cross_entropy as _cross_entropy
from nnrun.ops import distance as _distance
from nnrun.ops import dropout as _dropout
from nnrun.ops import embedding as _embedding
from nnrun.ops import fold as _fold
from nnrun.ops import grid_sample as _grid_sample
from nnrun.ops import linear as _linear
from nnrun.ops import loss as _loss
from nnrun.ops import loss_margin as _loss_margin
from nnrun.ops import multi_head_attention as _multi_head_attention
from nnrun.ops import normalization as _normalization
from nnrun.ops import padding as _padding
from nnrun.ops import pooling as _pooling
from nnrun.ops import pooling_extra as _pooling_extra
from nnrun.ops import shape as _shape
from nnrun.ops import unary as _unary
from nnrun.ops import upsampling as _upsampling

linear = _linear.linear
bilinear = _linear.bilinear


# ----- activations (ops/activation.py, ops/unary.py) -----
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` element-wise; ``inplace`` overwrites ``input``."""
    return input.relu_() if inplace else _unary.Relu.apply(input)


hardtanh = _activation.hardtanh
relu6 = _activation.relu6
leaky_relu = _activation.leaky_relu
elu = _activation.elu
gelu = _activation.gelu
silu = _activation.silu
mish = _activation.mish
hardswish = _activation.hardswish
prelu = _activation.prelu
softplus = _activation.softplus
sigmoid = _unary.sigmoid
tanh = _unary.tanh
softmax = _activation.softmax
log_softmax = _activation.log_softmax
selu = _activation_extra.selu
celu = _activation_extra.celu
hardsigmoid = _activation_extra.hardsigmoid
logsigmoid = _activation_extra.logsigmoid
softsign = _activation_extra.softsign
tanhshrink = _activation_extra.tanhshrink
softshrink = _activation_extra.softshrink
hardshrink = _activation_extra.hardshrink
threshold = _activation_extra.threshold
glu = _activation_extra.glu
rrelu = _activation_extra.rrelu
softmin = _activation_extra.softmin
gumbel_softmax = _activation_extra.gumbel_softmax

relu_ = _activation_extra.relu_
elu_ = _activation_extra.elu_
leaky_relu_ = _activation_extra.leaky_relu_
hardtanh_ = _activation_extra.hardtanh_
celu_ = _activation_extra.celu_
selu_ = _activation_extra.selu_
threshold_ = _activation_extra.threshold_
rrelu_ = _activation_extra.rrelu_

# ----- losses (ops/loss.py, ops/cross_entropy.py) -----
cross_entropy = _cross_entropy.cross_entropy
nll_loss = _cross_entropy.nll_loss
mse_loss = _loss.mse_loss
l1_loss = _loss.l1_loss
smooth_l1_loss = _loss.smooth_l1_loss
huber_loss = _loss.huber_loss
margin_ranking_loss = _distance.margin_ranking_loss
cosine_embedding_loss = _distance.cosine_embedding_loss
triplet_margin_loss = _distance.triplet_margin_loss
binary_cross_entropy = _loss.binary_cross_entropy
binary_cross_entropy_with_logits = _loss.binary_cross_entropy_with_logits
kl_div = _loss.kl_div
soft_margin_loss = _loss_margin.soft_margin_loss
multilabel_soft_margin_loss = _loss_margin.multilabel_soft_margin_loss
multi_margin_loss = _loss_margin.multi_margin_loss
multilabel_margin_loss = _loss_margin.multilabel_margin_loss
hinge_embedding_loss = _loss_margin.hinge_embedding_loss
poisson_nll_loss = _loss_margin.poisson_nll_loss
gaussian_nll_loss = _loss_margin.gaussian_nll_loss
triplet_margin_with_distance_loss = _loss_margin.triplet_margin_with_distance_loss

# ----- distances (ops/distance.py) -----
normalize = _distance.normalize
cosine_similarity = _distance.cosine_similarity
pairwise_distance = _distance.pairwise_distance

# ----- normalisation (ops/normalization.py) -----
batch_norm = _normalization.batch_norm
layer_norm = _normalization.layer_norm
group_norm = _normalization.group_norm
instance_norm = _normalization.instance_norm
rms_norm = _normalization.rms_norm
local_response_norm = _pooling_extra.local_response_norm

# ----- dropout (ops/dropout.py) -----
dropout = _dropout.dropout
dropout2d = _dropout.dropout2d
dropout1d = _dropout.dropout1d
dropout3d = _dropout.dropout3d
alpha_dropout = _dropout.alpha_dropout
feature_alpha_dropout = _dropout.feature_alpha_dropout

# ----- lookups and padding (ops/embedding.py, ops/padding.py) -----
one_hot = _embedding.one_hot
embedding = _embedding.embedding
embedding_bag = _embedding.embedding_bag
pad = _padding.pad

# ----- pixel shuffle (ops/shape.py) -----
pixel_shuffle = _shape.pixel_shuffle
pixel_unshuffle = _shape.pixel_unshuffle
channel_shuffle = _shape.channel_shuffle

# ----- im2col and col2im (ops/fold.py) -----
unfold = _fold.unfold
fold = _fold.fold

# ----- convolution (ops/conv.py) -----
conv1d = _conv.conv1d
conv2d = _conv.conv2d
conv_transpose1d = _conv.conv_transpose1d
conv_transpose2d = _conv.conv_transpose2d

# ----- pooling (ops/pooling.py) -----
max_pool2d = _pooling.max_pool2d
avg_pool2d = _pooling.avg_pool2d
adaptive_avg_pool2d = _pooling.adaptive_avg_pool2d
adaptive_max_pool2d = _pooling.adaptive_max_pool2d
max_pool1d = _pooling.max_pool1d
avg_pool1d = _pooling.avg_pool1d
adaptive_avg_pool1d = _pooling.adaptive_avg_pool1d
adaptive_max_pool1d = _pooling.adaptive_max_pool1d
lp_pool1d = _pooling_extra.lp_pool1d
lp_pool2d = _pooling_extra.lp_pool2d
max_unpool1d = _pooling_extra.max_unpool1d
max_unpool2d = _pooling_extra.max_unpool2d

# ----- resampling (ops/upsampling.py) -----
interpolate = _upsampling.interpolate

# ----- attention (ops/attention.py, ops/multi_head_attention.py) -----
scaled_dot_product_attention = _attention.scaled_dot_product_attention
multi_head_attention_forward = _multi_head_attention.multi_head_attention_forward
# ----- spatial transformers (ops/grid_sample.py) -----
affine_grid = _grid_sample.affine_grid
grid_sample = _grid_sample.grid_sample
