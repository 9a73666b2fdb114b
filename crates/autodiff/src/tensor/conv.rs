//! Convolution and pooling over batches of images laid out `[N, C, H, W]`, with PyTorch's
//! semantics: stride, zero padding, dilation and groups, and its output-size formula
//! `⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1`.
//!
//! A convolution is a matrix product in disguise. Every output position sees one patch of the
//! input; copying the patches of a chunk of images into the columns of one matrix (*im2col*)
//! turns the whole convolution into `W·cols`, which runs on the same GEMM path (and threads) as
//! [`Tensor::matmul`]. The two other products of a convolution's backward pass reuse the layout:
//!
//! - [`Tensor::conv_transpose2d`] — the adjoint with respect to the input, `Wᵀ·G` scattered back
//!   onto the image (*col2im*): the backward of a convolution, and PyTorch's transposed
//!   convolution;
//! - [`Tensor::conv2d_weight`] — the adjoint with respect to the weight, `G·colsᵀ`.
//!
//! The three are bilinear and each one's derivatives are the other two, so gradients of
//! gradients stay exact.

use std::any::Any;
use std::cell::RefCell;
use std::hint::select_unpredictable;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::layout::{accumulate, copy_run};
use super::matmul::matmul_into;
use super::{shape_of, Tensor};
use crate::threads::{run_claimed, threads_for_product};
use crate::Float;

/// How a 2-D convolution's window moves over its input, as PyTorch's `nn.Conv2d` takes it.
/// Each pair is (height, width); the builder methods set both to one number.
///
/// ```
/// use chainrule_autodiff::Conv2dOptions;
/// let same = Conv2dOptions::new().padding(1);
/// assert_eq!(same.padding, [1, 1]);
/// assert_eq!(same.stride, [1, 1]);
/// let wide = Conv2dOptions { stride: [1, 2], ..Conv2dOptions::new() };
/// assert_eq!(wide.stride, [1, 2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dOptions {
    /// Steps between windows (default 1).
    pub stride: [usize; 2],
    /// Zeros added on each side of the input (default 0).
    pub padding: [usize; 2],
    /// Spacing between the kernel's taps (default 1).
    pub dilation: [usize; 2],
    /// Channel groups: input and output channels are split into this many groups, each
    /// convolved with its own filters (default 1; `groups = C` is a depthwise convolution).
    pub groups: usize,
    /// Transposed convolution only: extra rows and columns on one side of the output, which
    /// choose among the input sizes a strided convolution maps to the same output size
    /// (default 0; must be smaller than the stride or the dilation).
    pub output_padding: [usize; 2],
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            output_padding: [0, 0],
        }
    }
}

impl Conv2dOptions {
    /// PyTorch's defaults: stride 1, no padding, dilation 1, one group.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same stride along both axes.
    pub fn stride(self, stride: usize) -> Self {
        Conv2dOptions {
            stride: [stride; 2],
            ..self
        }
    }

    /// The same zero padding on every side.
    pub fn padding(self, padding: usize) -> Self {
        Conv2dOptions {
            padding: [padding; 2],
            ..self
        }
    }

    /// The same dilation along both axes.
    pub fn dilation(self, dilation: usize) -> Self {
        Conv2dOptions {
            dilation: [dilation; 2],
            ..self
        }
    }

    /// The number of channel groups.
    pub fn groups(self, groups: usize) -> Self {
        Conv2dOptions { groups, ..self }
    }

    /// The same output padding along both axes (transposed convolution only).
    pub fn output_padding(self, output_padding: usize) -> Self {
        Conv2dOptions {
            output_padding: [output_padding; 2],
            ..self
        }
    }
}

/// How a 1-D convolution's window moves along a sequence `[N, C, L]`, as PyTorch's `nn.Conv1d`
/// takes it.
///
/// ```
/// use chainrule_autodiff::Conv1dOptions;
/// let options = Conv1dOptions::new().padding(2).dilation(2);
/// assert_eq!(options.to_2d().padding, [0, 2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv1dOptions {
    /// Steps between windows (default 1).
    pub stride: usize,
    /// Zeros added at each end (default 0).
    pub padding: usize,
    /// Spacing between the kernel's taps (default 1).
    pub dilation: usize,
    /// Channel groups (default 1).
    pub groups: usize,
}

impl Default for Conv1dOptions {
    fn default() -> Self {
        Conv1dOptions {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

impl Conv1dOptions {
    /// PyTorch's defaults: stride 1, no padding, dilation 1, one group.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stride.
    pub fn stride(self, stride: usize) -> Self {
        Conv1dOptions { stride, ..self }
    }

    /// The zero padding at each end.
    pub fn padding(self, padding: usize) -> Self {
        Conv1dOptions { padding, ..self }
    }

    /// The dilation.
    pub fn dilation(self, dilation: usize) -> Self {
        Conv1dOptions { dilation, ..self }
    }

    /// The number of channel groups.
    pub fn groups(self, groups: usize) -> Self {
        Conv1dOptions { groups, ..self }
    }

    /// The same convolution over `[N, C, 1, L]` images: a sequence is an image one row high.
    pub fn to_2d(self) -> Conv2dOptions {
        Conv2dOptions {
            stride: [1, self.stride],
            padding: [0, self.padding],
            dilation: [1, self.dilation],
            groups: self.groups,
            output_padding: [0, 0],
        }
    }
}

/// A pooling window, as PyTorch's `nn.MaxPool2d` and `nn.AvgPool2d` take it: the stride
/// defaults to the kernel size (windows side by side, not overlapping).
///
/// ```
/// use chainrule_autodiff::Pool2dOptions;
/// let pool = Pool2dOptions::new(2);
/// assert_eq!((pool.kernel, pool.stride, pool.padding), ([2, 2], [2, 2], [0, 0]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2dOptions {
    /// The window's height and width.
    pub kernel: [usize; 2],
    /// Steps between windows (default: the kernel size).
    pub stride: [usize; 2],
    /// Padding on each side, at most half the kernel: `−∞` for max pooling, zeros (counted in
    /// the average, as PyTorch's default `count_include_pad=True`) for average pooling.
    pub padding: [usize; 2],
}

impl Pool2dOptions {
    /// A square window of side `kernel`, stride `kernel`, no padding.
    pub fn new(kernel: usize) -> Self {
        Pool2dOptions {
            kernel: [kernel; 2],
            stride: [kernel; 2],
            padding: [0, 0],
        }
    }

    /// The same stride along both axes.
    pub fn stride(self, stride: usize) -> Self {
        Pool2dOptions {
            stride: [stride; 2],
            ..self
        }
    }

    /// The same padding on every side.
    pub fn padding(self, padding: usize) -> Self {
        Pool2dOptions {
            padding: [padding; 2],
            ..self
        }
    }
}

/// The number of window positions along one axis, or `None` when the (dilated) kernel is
/// larger than the padded input. PyTorch's formula.
fn output_len(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    let padded = input + 2 * padding;
    (padded >= span).then(|| (padded - span) / stride + 1)
}

/// The output positions `lo..hi` (within `0..out_len`) whose input position
/// `o·stride + offset` lies inside `0..in_len`.
fn valid_range(out_len: usize, in_len: usize, offset: isize, stride: usize) -> (usize, usize) {
    let lo = if offset >= 0 {
        0
    } else {
        offset.unsigned_abs().div_ceil(stride)
    };
    let end = in_len as isize - offset;
    let hi = if end <= 0 {
        0
    } else {
        (end as usize).div_ceil(stride)
    };
    let lo = lo.min(out_len);
    (lo, hi.min(out_len).max(lo))
}

/// Everything about one convolution's shapes, checked once.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    out_channels: usize,
    kernel: [usize; 2],
    out: [usize; 2],
    options: Conv2dOptions,
}

/// The patch matrix of a chunk of images stays around this many elements (4 MB of `f32`): large
/// enough that the product runs at GEMM speed, small enough to stay in cache.
const CHUNK_ELEMENTS: usize = 1 << 20;

impl Geometry {
    /// Checks a convolution of an `input`-shaped batch by a `weight`-shaped filter bank.
    #[track_caller]
    fn new(op: &str, input: &[usize], weight: &[usize], options: Conv2dOptions) -> Geometry {
        let shapes = format!("input shape {input:?}, weight shape {weight:?}");
        shape_assert!(
            input.len() == 4,
            "{op}: the input must be 4-D [N, C, H, W] ({shapes})"
        );
        shape_assert!(
            weight.len() == 4,
            "{op}: the weight must be 4-D [out_channels, in_channels / groups, kh, kw] ({shapes})"
        );
        let Conv2dOptions {
            stride,
            padding,
            dilation,
            groups,
            ..
        } = options;
        shape_assert!(
            groups >= 1 && stride.iter().chain(&dilation).all(|&s| s >= 1),
            "{op}: stride, dilation and groups must be at least 1 (got {options:?}; {shapes})"
        );
        let [batch, channels, height, width] = [input[0], input[1], input[2], input[3]];
        let [out_channels, group_in, kh, kw] = [weight[0], weight[1], weight[2], weight[3]];
        shape_assert!(
            group_in * groups == channels,
            "{op}: the input has {channels} channels, but the weight expects {group_in} per group × {groups} groups ({shapes})"
        );
        shape_assert!(
            out_channels % groups == 0,
            "{op}: {out_channels} output channels do not split into {groups} groups ({shapes})"
        );
        shape_assert!(
            kh >= 1 && kw >= 1,
            "{op}: the kernel must be at least 1×1 ({shapes})"
        );
        let out = [
            output_len(height, kh, stride[0], padding[0], dilation[0]),
            output_len(width, kw, stride[1], padding[1], dilation[1]),
        ];
        let [Some(oh), Some(ow)] = out else {
            shape_panic!(
                "{op}: the kernel {kh}×{kw} (dilation {}×{}) is larger than the padded input {}×{} ({shapes})",
                dilation[0],
                dilation[1],
                height + 2 * padding[0],
                width + 2 * padding[1]
            )
        };
        Geometry {
            batch,
            channels,
            height,
            width,
            out_channels,
            kernel: [kh, kw],
            out: [oh, ow],
            options,
        }
    }

    fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.height, self.width]
    }

    fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.out_channels, self.out[0], self.out[1]]
    }

    fn weight_shape(&self) -> [usize; 4] {
        let [kh, kw] = self.kernel;
        [self.out_channels, self.group_in(), kh, kw]
    }

    fn group_in(&self) -> usize {
        self.channels / self.options.groups
    }

    fn group_out(&self) -> usize {
        self.out_channels / self.options.groups
    }

    /// Rows of the patch matrix: one per (channel of the group, kernel row, kernel column).
    fn patch(&self) -> usize {
        self.group_in() * self.kernel[0] * self.kernel[1]
    }

    fn out_plane(&self) -> usize {
        self.out[0] * self.out[1]
    }

    fn in_plane(&self) -> usize {
        self.height * self.width
    }

    /// Images per chunk, when the batch is to be cut into at least `parts` chunks.
    fn chunk(&self, parts: usize) -> usize {
        let fits = CHUNK_ELEMENTS / (self.patch() * self.out_plane()).max(1);
        fits.min(self.batch.div_ceil(parts.max(1)))
            .clamp(1, self.batch.max(1))
    }

    /// The chunks of the batch, at least `parts` of them where it has that many images, as
    /// ranges of image indices.
    fn chunks(&self, parts: usize) -> impl Iterator<Item = Range<usize>> {
        let (chunk, batch) = (self.chunk(parts), self.batch);
        (0..batch)
            .step_by(chunk)
            .map(move |n0| n0..(n0 + chunk).min(batch))
    }

    /// Runs `step` on every chunk of the batch and returns each pass's [`Scratch::sum`], in a
    /// fixed order (the passes' working memory is kept for the next call). `step` gets the chunk's images, its pass's [`Scratch`], and the chunk's
    /// part of `out` — `per_image` elements per image, images being contiguous in every
    /// convolution tensor — which it indexes with images counted from the chunk's first.
    ///
    /// A batch of several chunks whose products are worth several threads
    /// ([`crate::split_work`] each) is cut into passes, two per thread, each taking every
    /// `passes`-th chunk, and the passes are claimed by whichever thread is free
    /// (`run_claimed`), each product on its own thread: im2col and col2im are then spread too,
    /// and no product packs its operands once per thread. Otherwise one pass takes every chunk
    /// and the products themselves are split. The passes, and so each pass's sum in
    /// [`Scratch::sum`], depend only on the thread count, never on which thread ran what;
    /// those sums are what it returns.
    fn for_each_chunk<T: Float>(
        &self,
        out: &mut [T],
        per_image: usize,
        step: impl Fn(Range<usize>, &mut Scratch<T>, &mut [T]) + Sync,
    ) -> Vec<Vec<T>> {
        // Each op's products multiply-add O·patch·out_plane per image, in one order or another.
        let work = self.out_channels * self.patch() * self.out_plane() * self.batch;
        // Work for several threads is cut into at least two chunks per thread, even when the
        // whole batch would fit in one: small images (conv-digits' 64 of 4×4) then spread their
        // im2col and col2im over the threads too, not only their products.
        let threads = threads_for_product(work);
        let parts = if threads > 1 { 2 * threads } else { 1 };
        let chunks: Vec<Range<usize>> = self.chunks(parts).collect();
        let threads = threads.min(chunks.len());
        let passes = if threads > 1 {
            (2 * threads).min(chunks.len())
        } else {
            1
        };
        let mut work: Vec<Pass<'_, T>> = (0..passes)
            .map(|_| Pass {
                scratch: Scratch::spare(),
                chunks: Vec::new(),
            })
            .collect();
        let mut rest = out;
        for (i, images) in chunks.into_iter().enumerate() {
            let (part, tail) = rest.split_at_mut((images.len() * per_image).min(rest.len()));
            rest = tail;
            work[i % passes].chunks.push((images, part));
        }
        let work: Vec<Mutex<Pass<'_, T>>> = work.into_iter().map(Mutex::new).collect();
        run_claimed(passes, threads, &|pass| {
            let mut pass = work[pass].lock().unwrap_or_else(|e| e.into_inner());
            let Pass { scratch, chunks } = &mut *pass;
            for (images, part) in chunks.iter_mut() {
                step(images.clone(), scratch, part);
            }
        });
        work.into_iter()
            .map(|pass| {
                let mut scratch = pass.into_inner().unwrap_or_else(|e| e.into_inner()).scratch;
                let sum = std::mem::take(&mut scratch.sum);
                scratch.recycle();
                sum
            })
            .collect()
    }

    /// The padded input's height and width.
    fn padded_size(&self) -> [usize; 2] {
        let padding = self.options.padding;
        [self.height + 2 * padding[0], self.width + 2 * padding[1]]
    }

    fn has_padding(&self) -> bool {
        self.options.padding != [0, 0]
    }

    /// `buffer` emptied and refilled with zeros for `images` padded images: `[images, C, H +
    /// 2·padding, W + 2·padding]`.
    fn zero_padded<'a, T: Float>(&self, images: usize, buffer: &'a mut Vec<T>) -> &'a mut [T] {
        let [hp, wp] = self.padded_size();
        buffer.clear();
        buffer.resize(images * self.channels * hp * wp, T::zero());
        buffer
    }

    /// `images` of an `[N, C, H, W]` batch, zero-padded (as [`Geometry::zero_padded`] lays them
    /// out). Borrowed when there is no padding, else copied into `buffer`. im2col then reads
    /// every patch row without asking where the image ends.
    fn padded<'a, T: Float>(
        &self,
        x: &'a [T],
        images: Range<usize>,
        buffer: &'a mut Vec<T>,
    ) -> &'a [T] {
        let per_image = self.channels * self.in_plane();
        let chunk = &x[images.start * per_image..images.end * per_image];
        if !self.has_padding() {
            return chunk;
        }
        let [pt, pl] = self.options.padding;
        let [hp, wp] = self.padded_size();
        let buffer = self.zero_padded(images.len(), buffer);
        for (plane, padded) in chunk
            .chunks_exact(self.in_plane().max(1))
            .zip(buffer.chunks_exact_mut(hp * wp))
        {
            for (row, line) in plane.chunks_exact(self.width.max(1)).enumerate() {
                copy_run(&mut padded[(row + pt) * wp + pl..][..line.len()], line);
            }
        }
        buffer
    }

    /// Crops a padded chunk (as [`Geometry::padded`] lays it out) back into `[images, C, H,
    /// W]`, adding onto `x`.
    fn add_unpadded<T: Float>(&self, padded: &[T], x: &mut [T]) {
        let [hp, wp] = self.padded_size();
        let [pt, pl] = self.options.padding;
        for (plane, padded) in x
            .chunks_exact_mut(self.in_plane().max(1))
            .zip(padded.chunks_exact(hp * wp))
        {
            for (row, line) in plane.chunks_exact_mut(self.width.max(1)).enumerate() {
                accumulate(line, &padded[(row + pt) * wp + pl..][..self.width]);
            }
        }
    }

    /// The channels of `group` for `images`, from an `[N, channels_total, out_plane]` tensor,
    /// as one `[group_channels, out_plane·images]` matrix whose columns run over the images
    /// first (image-inner order; see [`Geometry::col2im_image_inner`]).
    fn channel_block_image_inner<'a, T: Float>(
        &self,
        data: &'a [T],
        images: Range<usize>,
        group: usize,
        buffer: &'a mut Vec<T>,
    ) -> &'a [T] {
        let (per_group, plane, count) = (self.group_out(), self.out_plane(), images.len());
        buffer.clear();
        buffer.resize(per_group * plane * count, T::zero());
        for (o, block) in buffer.chunks_exact_mut(plane * count).enumerate() {
            let channel = group * per_group + o;
            for (k, image) in images.clone().enumerate() {
                let start = (image * self.out_channels + channel) * plane;
                for (p, &value) in data[start..start + plane].iter().enumerate() {
                    block[p * count + k] = value;
                }
            }
        }
        buffer
    }

    /// Whether a chunk of `images` is laid out image-inner (see
    /// [`Geometry::walk_image_inner`]): when it has several images and narrow outputs.
    fn image_inner(&self, images: usize) -> bool {
        images > 1 && self.out[1] < IMAGE_INNER_BELOW_WIDTH
    }

    /// [`Geometry::walk`] for a chunk laid out image-inner: patch columns ordered (output
    /// row, output column, image), and the padded chunk `[C, H + 2·padding, W + 2·padding,
    /// images]`. Hands `visit` each run of patch elements (a range of `cols`) and where its
    /// inputs start in the padded chunk, the run being contiguous in both: a patch row's whole
    /// output row, `ow·images` elements, at stride 1, else `images` elements per output column.
    /// Image by image, those runs were `ow` long: conv-digits' 4.
    fn walk_image_inner(
        &self,
        images: usize,
        group: usize,
        mut visit: impl FnMut(Range<usize>, usize),
    ) {
        let [kh, kw] = self.kernel;
        let [hp, wp] = self.padded_size();
        let [oh, ow] = self.out;
        let [down, step] = self.options.stride;
        let dilation = self.options.dilation;
        let width = images * self.out_plane();
        for ci in 0..self.group_in() {
            let channel = group * self.group_in() + ci;
            let plane = channel * hp * wp;
            for i in 0..kh {
                for j in 0..kw {
                    let row = ((ci * kh + i) * kw + j) * width;
                    for oy in 0..oh {
                        let first = plane + (oy * down + i * dilation[0]) * wp + j * dilation[1];
                        let start = row + oy * ow * images;
                        if step == 1 {
                            visit(start..start + ow * images, first * images);
                        } else {
                            for ox in 0..ow {
                                let run = start + ox * images;
                                visit(run..run + images, (first + ox * step) * images);
                            }
                        }
                    }
                }
            }
        }
    }

    /// [`Geometry::im2col`] for a chunk laid out image-inner ([`Geometry::walk_image_inner`]).
    fn im2col_image_inner<T: Float>(
        &self,
        padded: &[T],
        images: usize,
        group: usize,
        cols: &mut [T],
    ) {
        self.walk_image_inner(images, group, |run, first| {
            copy_run(&mut cols[run.clone()], &padded[first..first + run.len()]);
        });
    }

    /// [`Geometry::col2im`] for a chunk laid out image-inner ([`Geometry::walk_image_inner`]).
    fn col2im_image_inner<T: Float>(
        &self,
        cols: &[T],
        images: usize,
        group: usize,
        padded: &mut [T],
    ) {
        self.walk_image_inner(images, group, |run, first| {
            accumulate(&mut padded[first..first + run.len()], &cols[run]);
        });
    }

    /// `images` of an `[N, C, H, W]` batch, zero-padded and laid out image-inner:
    /// `[C, H + 2·padding, W + 2·padding, images]`, in `buffer`.
    fn padded_image_inner<'a, T: Float>(
        &self,
        x: &[T],
        images: Range<usize>,
        buffer: &'a mut Vec<T>,
    ) -> &'a [T] {
        let [hp, wp] = self.padded_size();
        let [pt, pl] = self.options.padding;
        let (count, channels) = (images.len(), self.channels);
        let buffer = self.zero_padded(count, buffer);
        let (height, width, in_plane) = (self.height, self.width, self.in_plane());
        let chunk = &x[images.start * channels * in_plane..][..count * channels * in_plane];
        // Row by padded row, so that the writes stay within a few cache lines.
        for c in 0..channels {
            for y in 0..height {
                let first = ((c * hp + y + pt) * wp + pl) * count;
                let target = &mut buffer[first..first + width * count];
                for k in 0..count {
                    let line = &chunk[((k * channels + c) * height + y) * width..][..width];
                    for (xi, &value) in line.iter().enumerate() {
                        target[xi * count + k] = value;
                    }
                }
            }
        }
        buffer
    }

    /// [`Geometry::store_block`] for a block whose columns are in image-inner order.
    fn store_block_image_inner<T: Float>(
        &self,
        block: &[T],
        images: Range<usize>,
        group: usize,
        bias: Option<&[T]>,
        out: &mut [T],
    ) {
        let (per_group, plane, count) = (self.group_out(), self.out_plane(), images.len());
        for (o, rows) in block
            .chunks_exact(plane * count)
            .take(per_group)
            .enumerate()
        {
            let channel = group * per_group + o;
            let b = bias.map(|bias| bias[channel]);
            for k in 0..count {
                let start = (k * self.out_channels + channel) * plane;
                let target = &mut out[start..start + plane];
                for (p, y) in target.iter_mut().enumerate() {
                    let z = rows[p * count + k];
                    *y = match b {
                        Some(b) => z + b,
                        None => z,
                    };
                }
            }
        }
    }

    /// Crops a padded chunk laid out image-inner (see [`Geometry::col2im_image_inner`]) into
    /// `[images, C, H, W]`, overwriting `x`.
    fn unpad_image_inner<T: Float>(&self, padded: &[T], images: usize, x: &mut [T]) {
        let [hp, wp] = self.padded_size();
        let [pt, pl] = self.options.padding;
        let (channels, height, width) = (self.channels, self.height, self.width);
        for (c, source) in padded
            .chunks_exact(hp * wp * images)
            .take(channels)
            .enumerate()
        {
            for y in 0..height {
                let line = &source[((y + pt) * wp + pl) * images..][..width * images];
                for (xi, column) in line.chunks_exact(images).enumerate() {
                    for (k, &value) in column.iter().enumerate() {
                        x[((k * channels + c) * height + y) * width + xi] = value;
                    }
                }
            }
        }
    }

    /// Walks every (patch row, image of the chunk) of `group`, handing `visit` that image's
    /// `[oh, ow]` block of the patch row and where the block's first input lies in the padded
    /// chunk. Output row `oy` of the block reads `ow` inputs `stride[1]` apart, from
    /// `oy·stride[0]` padded rows further on. im2col and col2im are this one walk, copying in
    /// opposite directions.
    fn walk(&self, images: usize, group: usize, mut visit: impl FnMut(Range<usize>, usize)) {
        let [kh, kw] = self.kernel;
        let [hp, wp] = self.padded_size();
        let dilation = self.options.dilation;
        let (plane, width) = (self.out_plane(), images * self.out_plane());
        for ci in 0..self.group_in() {
            let channel = group * self.group_in() + ci;
            for i in 0..kh {
                for j in 0..kw {
                    let row = (ci * kh + i) * kw + j;
                    let tap = i * dilation[0] * wp + j * dilation[1];
                    for image in 0..images {
                        let start = row * width + image * plane;
                        let first = (image * self.channels + channel) * hp * wp + tap;
                        visit(start..start + plane, first);
                    }
                }
            }
        }
    }

    /// Copies the patches of `group` from a padded chunk into `cols`, `[patch,
    /// images·out_plane]`.
    fn im2col<T: Float>(&self, padded: &[T], images: usize, group: usize, cols: &mut [T]) {
        let ow = self.out[1];
        let [down, step] = self.options.stride;
        let row_step = down * self.padded_size()[1];
        self.walk(images, group, |block, first| {
            for (oy, line) in cols[block].chunks_exact_mut(ow).enumerate() {
                let source = &padded[first + oy * row_step..];
                if step == 1 {
                    copy_run(line, &source[..ow]);
                } else {
                    for (slot, &value) in line.iter_mut().zip(source.iter().step_by(step)) {
                        *slot = value;
                    }
                }
            }
        });
    }

    /// Adds the columns of `cols` back onto the padded chunk they were taken from: im2col's
    /// adjoint.
    fn col2im<T: Float>(&self, cols: &[T], images: usize, group: usize, padded: &mut [T]) {
        let ow = self.out[1];
        let [down, step] = self.options.stride;
        let row_step = down * self.padded_size()[1];
        self.walk(images, group, |block, first| {
            for (oy, line) in cols[block].chunks_exact(ow).enumerate() {
                let target = &mut padded[first + oy * row_step..];
                if step == 1 {
                    accumulate(&mut target[..ow], line);
                } else {
                    for (slot, &value) in target.iter_mut().step_by(step).zip(line) {
                        *slot += value;
                    }
                }
            }
        });
    }

    /// The channels of `group` for `images`, from an `[N, channels_total, out_plane]` tensor,
    /// as one `[group_channels, images·out_plane]` matrix: borrowed when it is one image (its
    /// rows are already contiguous), else copied into `buffer`.
    fn channel_block<'a, T: Float>(
        &self,
        data: &'a [T],
        images: Range<usize>,
        group: usize,
        buffer: &'a mut Vec<T>,
    ) -> &'a [T] {
        let (per_group, plane) = (self.group_out(), self.out_plane());
        let first = group * per_group;
        if images.len() == 1 {
            let start = (images.start * self.out_channels + first) * plane;
            return &data[start..start + per_group * plane];
        }
        buffer.clear();
        for o in 0..per_group {
            for image in images.clone() {
                let start = (image * self.out_channels + first + o) * plane;
                buffer.extend_from_slice(&data[start..start + plane]);
            }
        }
        buffer
    }

    /// Writes a `[group_channels, images·out_plane]` matrix into the `[N, O, out_plane]` output,
    /// adding each channel's bias on the way when there is one (`bias` holds all `O`).
    fn store_block<T: Float>(
        &self,
        block: &[T],
        images: Range<usize>,
        group: usize,
        bias: Option<&[T]>,
        out: &mut [T],
    ) {
        let (per_group, plane) = (self.group_out(), self.out_plane());
        let width = images.len() * plane;
        for o in 0..per_group {
            let channel = group * per_group + o;
            for (k, image) in images.clone().enumerate() {
                let start = (image * self.out_channels + channel) * plane;
                let (target, source) = (
                    &mut out[start..start + plane],
                    &block[o * width + k * plane..][..plane],
                );
                match bias {
                    Some(bias) => {
                        let b = bias[channel];
                        for (y, &z) in target.iter_mut().zip(source) {
                            *y = z + b;
                        }
                    }
                    None => target.copy_from_slice(source),
                }
            }
        }
    }

    /// The filters of `group`: a `[group_channels, patch]` block of the weight.
    fn filters<'a, T>(&self, weight: &'a [T], group: usize) -> &'a [T] {
        let size = self.group_out() * self.patch();
        &weight[group * size..(group + 1) * size]
    }
}

/// One pass over a convolution's chunks: its working memory, and its chunks' images with their
/// parts of the output.
struct Pass<'a, T> {
    scratch: Scratch<T>,
    chunks: Vec<(Range<usize>, &'a mut [T])>,
}

/// The most patch-matrix elements a convolution keeps for its weight gradient: 2²² (16 MiB of
/// `f32`). Building a patch matrix (im2col) is the same work in the forward and in the weight
/// gradient, and on small images it is a large share of the step: keeping conv-digits' matrices
/// made it 6% faster at 1 and at 2 threads (3 alternations: 50.2–50.6K → 53.3–53.4K samples/s
/// at 1). Kept, they cost memory until the graph is dropped, so a large convolution (conv-32's
/// patch matrices hold 19 million elements) builds them again instead.
pub(crate) const KEEP_PATCHES_ELEMENTS: usize = 1 << 22;

/// The patch matrices a convolution's forward built and kept for its weight gradient, by
/// chunk of images and group.
struct Patches<T> {
    /// `((first image of the chunk, group), the chunk's [patch, images·out_plane] matrix)`,
    /// sorted by key.
    columns: Vec<((usize, usize), Vec<T>)>,
}

impl<T> Patches<T> {
    /// The patch matrix of the chunk starting at image `key.0`, group `key.1`, if it was kept
    /// and has `len` elements (the same chunk: its length fixes its number of images).
    fn columns(&self, key: (usize, usize), len: usize) -> Option<&[T]> {
        let at = self.columns.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        let columns = &self.columns[at].1;
        (columns.len() == len).then_some(columns.as_slice())
    }
}

/// What a convolution's forward kept for its backward: the patch matrices (im2col) it built,
/// so that the weight gradient does not build them again, or nothing (when the weight wants
/// no gradient, or the matrices were too large to keep). Opaque: it changes no result, only
/// how fast the weight gradient is computed. It compares equal to any other, so ops that
/// differ only in it are the same op.
#[derive(Clone, Default)]
pub struct KeptPatches(Option<Arc<dyn Any + Send + Sync>>);

impl KeptPatches {
    fn of<T: Float>(patches: Option<Patches<T>>) -> KeptPatches {
        KeptPatches(patches.map(|p| Arc::new(p) as Arc<dyn Any + Send + Sync>))
    }

    fn get<T: Float>(&self) -> Option<&Patches<T>> {
        self.0.as_ref()?.downcast_ref::<Patches<T>>()
    }

    /// Whether anything was kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl PartialEq for KeptPatches {
    fn eq(&self, _: &KeptPatches) -> bool {
        true
    }
}

impl Eq for KeptPatches {}

impl std::fmt::Debug for KeptPatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.is_empty() { "none" } else { "kept" };
        write!(f, "KeptPatches({what})")
    }
}

/// The working memory of one pass over a convolution's chunks, reused from chunk to chunk.
struct Scratch<T> {
    /// A chunk's patch matrix.
    cols: Vec<T>,
    /// A chunk's product, or its gradient's channels gathered into one matrix.
    block: Vec<T>,
    /// What the pass adds up over its chunks (the weight gradient).
    sum: Vec<T>,
    /// A chunk's images zero-padded, or the gradient of those padded images.
    padded: Vec<T>,
}

/// Output widths below which a chunk of several images is laid out image-inner (see
/// [`Geometry::walk_image_inner`]) by all three products: im2col then copies, and col2im adds,
/// runs of `ow·images` elements instead of `ow`. conv-digits' second layer (4×4 outputs, 64
/// images a chunk) is the case it is for.
const IMAGE_INNER_BELOW_WIDTH: usize = 8;

/// How many [`Scratch`]es a thread keeps between convolutions: one per pass it starts (two
/// per thread when a convolution is split).
const SPARE_SCRATCHES: usize = 4;

thread_local! {
    /// Working memory left by this thread's last convolutions, of either element type.
    /// Reusing it spares allocating, and zero-filling, a few megabytes per call: the patch
    /// matrix is overwritten whole by im2col or by a product, so its old contents never show.
    static SPARE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

impl<T: Float> Scratch<T> {
    /// A spare scratch of this element type if this thread has one, else a new, empty one.
    /// Its `sum` is always empty.
    fn spare() -> Scratch<T> {
        SPARE
            .with(|spare| {
                let mut spare = spare.borrow_mut();
                let at = spare.iter().position(|s| s.is::<Scratch<T>>())?;
                spare.swap_remove(at).downcast::<Scratch<T>>().ok()
            })
            .map_or_else(Scratch::empty, |scratch| *scratch)
    }

    /// Keeps this scratch for the thread's next convolution, unless it keeps enough already.
    fn recycle(self) {
        debug_assert!(self.sum.is_empty(), "a recycled scratch starts with no sum");
        SPARE.with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < SPARE_SCRATCHES {
                spare.push(Box::new(self));
            }
        });
    }

    fn empty() -> Scratch<T> {
        Scratch {
            cols: Vec::new(),
            block: Vec::new(),
            sum: Vec::new(),
            padded: Vec::new(),
        }
    }
}

/// A pooling window over an `[N, C, H, W]` batch, checked.
#[derive(Clone, Copy, Debug)]
struct PoolGeometry {
    planes: usize,
    height: usize,
    width: usize,
    out: [usize; 2],
    options: Pool2dOptions,
}

impl PoolGeometry {
    #[track_caller]
    fn new(op: &str, input: &[usize], options: Pool2dOptions) -> PoolGeometry {
        shape_assert!(
            input.len() == 4,
            "{op}: the input must be 4-D [N, C, H, W], got shape {input:?}"
        );
        let Pool2dOptions {
            kernel,
            stride,
            padding,
        } = options;
        shape_assert!(
            kernel.iter().chain(&stride).all(|&k| k >= 1),
            "{op}: kernel and stride must be at least 1 (got {options:?}; input shape {input:?})"
        );
        shape_assert!(
            padding[0] <= kernel[0] / 2 && padding[1] <= kernel[1] / 2,
            "{op}: padding {padding:?} is more than half the kernel {kernel:?} (input shape {input:?})"
        );
        let out = [
            output_len(input[2], kernel[0], stride[0], padding[0], 1),
            output_len(input[3], kernel[1], stride[1], padding[1], 1),
        ];
        let [Some(oh), Some(ow)] = out else {
            shape_panic!(
                "{op}: the window {}×{} is larger than the padded input {}×{} (input shape {input:?})",
                kernel[0],
                kernel[1],
                input[2] + 2 * padding[0],
                input[3] + 2 * padding[1]
            )
        };
        PoolGeometry {
            planes: input[0] * input[1],
            height: input[2],
            width: input[3],
            out: [oh, ow],
            options,
        }
    }

    /// Max pooling of whole planes: `x` holds some planes of the input, `out` (filled with −∞)
    /// and `indices` the same planes of the output. −∞ and each window's first element to start
    /// from, then every element of the window in order, taken when larger (or a NaN where there
    /// was none): the first of equal maxima, and the first element of a window of −∞.
    fn max_pool_planes<T: Float>(&self, x: &[T], out: &mut [T], indices: &mut [usize]) {
        let [oh, ow] = self.out;
        let options = self.options;
        let Pool2dOptions {
            kernel,
            stride,
            padding,
        } = options;
        // For each column of the window, the output columns whose window has it, and where.
        let taps: Vec<(usize, usize, isize)> = (0..kernel[1])
            .map(|kx| {
                let offset = kx as isize - padding[1] as isize;
                let (lo, hi) = valid_range(ow, self.width, offset, stride[1]);
                (lo, hi, offset)
            })
            .collect();
        let firsts: Vec<usize> = (0..ow).map(|ox| self.span(ox, 1).start).collect();
        let in_plane = self.in_plane();
        let halving = kernel == [2, 2] && stride == [2, 2] && padding == [0, 0];
        if halving && self.height.is_multiple_of(2) && self.width.is_multiple_of(2) {
            // Whole planes at once, for the output widths of small images (conv-digits' 4 and
            // 2): the width a constant, so that the loops over a row are straight-line code.
            let size = [self.height, self.width];
            match ow {
                1 => return halving_planes::<T, 1>(x, size, out, indices),
                2 => return halving_planes::<T, 2>(x, size, out, indices),
                4 => return halving_planes::<T, 4>(x, size, out, indices),
                8 => return halving_planes::<T, 8>(x, size, out, indices),
                _ => {}
            }
        }
        for ((values, tops), bests) in x
            .chunks_exact(in_plane.max(1))
            .zip(out.chunks_exact_mut(oh * ow))
            .zip(indices.chunks_exact_mut(oh * ow))
        {
            for ((oy, tops), bests) in tops
                .chunks_exact_mut(ow)
                .enumerate()
                .zip(bests.chunks_exact_mut(ow))
            {
                if halving {
                    let first = 2 * oy * self.width;
                    let upper = &values[first..][..2 * ow];
                    let lower = &values[first + self.width..][..2 * ow];
                    halving_row(upper, lower, first, self.width, tops, bests);
                    continue;
                }
                let rows = self.span(oy, 0);
                for (best, first) in bests.iter_mut().zip(&firsts) {
                    *best = rows.start * self.width + first;
                }
                for line in rows.map(|y| y * self.width) {
                    for &(lo, hi, offset) in &taps {
                        for ox in lo..hi {
                            let at = (line as isize + (ox * stride[1]) as isize + offset) as usize;
                            let best = winner_over(values, bests[ox], tops[ox], at);
                            bests[ox] = best;
                            tops[ox] = values[best];
                        }
                    }
                }
            }
        }
    }

    /// Calls `visit(plane, output index, rows, columns)` for every output element, with the
    /// input rows and columns its window covers (padding excluded). Ranges rather than an
    /// iterator of positions: the pooling loops over them inline.
    fn each_window(&self, mut visit: impl FnMut(usize, usize, Range<usize>, Range<usize>)) {
        let [oh, ow] = self.out;
        // Every plane has the same windows: work them out once.
        let rows: Vec<Range<usize>> = (0..oh).map(|oy| self.span(oy, 0)).collect();
        let cols: Vec<Range<usize>> = (0..ow).map(|ox| self.span(ox, 1)).collect();
        let mut at = 0;
        for plane in 0..self.planes {
            for rows in &rows {
                for cols in &cols {
                    visit(plane, at, rows.clone(), cols.clone());
                    at += 1;
                }
            }
        }
    }

    /// The input positions along `axis` (0 rows, 1 columns) that the window of output position
    /// `o` covers, padding excluded.
    #[inline]
    fn span(&self, o: usize, axis: usize) -> Range<usize> {
        let Pool2dOptions {
            kernel,
            stride,
            padding,
        } = self.options;
        let len = [self.height, self.width][axis];
        let start = (o * stride[axis]) as isize - padding[axis] as isize;
        let end = (start + kernel[axis] as isize).min(len as isize);
        start.max(0) as usize..end.max(0) as usize
    }

    fn in_plane(&self) -> usize {
        self.height * self.width
    }

    /// Output elements: one window per plane and output position.
    fn outputs(&self) -> usize {
        self.planes * self.out[0] * self.out[1]
    }

    /// One over the window's area: PyTorch's average counts the padding.
    fn area_inverse<T: Float>(&self) -> T {
        let [kh, kw] = self.options.kernel;
        T::one() / T::of((kh * kw) as f64)
    }
}

impl<T: Float> Tensor<T> {
    /// The 2-D convolution (strictly, cross-correlation, as in every deep-learning library) of
    /// an `[N, C, H, W]` batch with a `[O, C / groups, kh, kw]` filter bank: output
    /// `[N, O, H', W']` with `H' = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1`.
    /// PyTorch: `torch.nn.functional.conv2d` without bias.
    ///
    /// # Panics
    /// When the shapes do not fit (the message names both shapes), or the kernel is larger than
    /// the padded input.
    ///
    /// ```
    /// use chainrule_autodiff::{Conv2dOptions, Tensor};
    /// let image = Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3]);
    /// let ones = Tensor::ones(&[1, 1, 2, 2]);
    /// // Each output is the sum of one 2×2 patch.
    /// let y = image.conv2d(&ones, Conv2dOptions::new());
    /// assert_eq!(y.shape(), &[1, 1, 2, 2]);
    /// assert_eq!(y.to_vec(), vec![12.0, 16.0, 24.0, 28.0]);
    /// ```
    #[track_caller]
    pub fn conv2d(&self, weight: &Tensor<T>, options: Conv2dOptions) -> Tensor<T> {
        self.conv2d_keeping(weight, None, options, false).0
    }

    /// [`Tensor::conv2d`] plus an optional bias `[O]` per output channel, added as each block
    /// of the output is stored (a separate broadcast add would write the whole output again);
    /// and with `keep` the patch matrices it built, for the weight gradient to use instead of
    /// building them again (see [`KeptPatches`]), when they are small enough to keep
    /// ([`KEEP_PATCHES_ELEMENTS`]).
    ///
    /// # Panics
    /// As [`Tensor::conv2d`], and when the bias is not `[O]`.
    #[track_caller]
    pub(crate) fn conv2d_keeping(
        &self,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        options: Conv2dOptions,
        keep: bool,
    ) -> (Tensor<T>, KeptPatches) {
        let geo = Geometry::new("conv2d", self.shape(), weight.shape(), options);
        if let Some(bias) = bias {
            shape_assert!(
                bias.shape() == [geo.out_channels],
                "conv2d: the bias has shape {:?}, but the output {:?} has {} channels",
                bias.shape(),
                geo.output_shape(),
                geo.out_channels
            );
        }
        let bias = bias.map(Tensor::as_slice);
        let (x, w) = (self.as_slice(), weight.as_slice());
        let mut out = vec![T::zero(); geo.output_shape().iter().product()];
        let per_image = geo.out_channels * geo.out_plane();
        let all_patches = geo.patch() * geo.out_plane() * geo.batch * options.groups;
        let keep = keep && all_patches <= KEEP_PATCHES_ELEMENTS;
        let kept = Mutex::new(Vec::new());
        geo.for_each_chunk(&mut out, per_image, |images, scratch, part| {
            let width = images.len() * geo.out_plane();
            scratch.cols.resize(geo.patch() * width, T::zero());
            scratch.block.resize(geo.group_out() * width, T::zero());
            let image_inner = geo.image_inner(images.len());
            let padded = if image_inner {
                geo.padded_image_inner(x, images.clone(), &mut scratch.padded)
            } else {
                geo.padded(x, images.clone(), &mut scratch.padded)
            };
            for group in 0..options.groups {
                if image_inner {
                    geo.im2col_image_inner(padded, images.len(), group, &mut scratch.cols);
                } else {
                    geo.im2col(padded, images.len(), group, &mut scratch.cols);
                }
                if keep {
                    let columns = ((images.start, group), scratch.cols.clone());
                    kept.lock().unwrap_or_else(|e| e.into_inner()).push(columns);
                }
                matmul_into(
                    (geo.group_out(), geo.patch(), width),
                    geo.filters(w, group),
                    false,
                    &scratch.cols,
                    false,
                    T::zero(),
                    &mut scratch.block,
                );
                if image_inner {
                    geo.store_block_image_inner(&scratch.block, 0..images.len(), group, bias, part);
                } else {
                    geo.store_block(&scratch.block, 0..images.len(), group, bias, part);
                }
            }
        });
        let kept = keep.then(|| {
            let mut columns = kept.into_inner().unwrap_or_else(|e| e.into_inner());
            columns.sort_unstable_by_key(|(key, _)| *key);
            Patches { columns }
        });
        (
            Tensor::from_parts(out, shape_of(&geo.output_shape())),
            KeptPatches::of(kept),
        )
    }

    /// The transposed convolution of an `[N, O, H', W']` batch with an `[O, C / groups, kh,
    /// kw]` weight: output `[N, C, H, W]` with `H = (H' − 1)·stride − 2·padding +
    /// dilation·(kh − 1) + output_padding + 1`. It is the adjoint of [`Tensor::conv2d`] with the
    /// same weight and options — the gradient of a convolution with respect to its input — and
    /// the "deconvolution" that upsamples in decoders. PyTorch:
    /// `torch.nn.functional.conv_transpose2d` without bias.
    ///
    /// # Panics
    /// When the shapes do not fit, or the output padding is not smaller than the stride or the
    /// dilation.
    ///
    /// ```
    /// use chainrule_autodiff::{Conv2dOptions, Tensor};
    /// let g = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 1, 1, 2]);
    /// let w = Tensor::ones(&[1, 1, 2, 2]);
    /// // Stride 2: each input spreads over its own 2×2 block.
    /// let y = g.conv_transpose2d(&w, Conv2dOptions::new().stride(2));
    /// assert_eq!(y.shape(), &[1, 1, 2, 4]);
    /// assert_eq!(y.to_vec(), vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn conv_transpose2d(&self, weight: &Tensor<T>, options: Conv2dOptions) -> Tensor<T> {
        let size = transposed_output_size(self.shape(), weight.shape(), options);
        self.conv_transpose2d_to(weight, options, size)
    }

    /// [`Tensor::conv_transpose2d`] to an output of spatial size `size`, the input size of the
    /// convolution it is the adjoint of.
    #[track_caller]
    pub(crate) fn conv_transpose2d_to(
        &self,
        weight: &Tensor<T>,
        options: Conv2dOptions,
        size: [usize; 2],
    ) -> Tensor<T> {
        let geo = transposed_geometry(self.shape(), weight.shape(), options, size);
        let (g, w) = (self.as_slice(), weight.as_slice());
        let mut out = vec![T::zero(); geo.input_shape().iter().product()];
        let per_image = geo.channels * geo.in_plane();
        geo.for_each_chunk(&mut out, per_image, |images, scratch, part| {
            let width = images.len() * geo.out_plane();
            scratch.cols.resize(geo.patch() * width, T::zero());
            let image_inner = geo.image_inner(images.len());
            if image_inner || geo.has_padding() {
                geo.zero_padded(images.len(), &mut scratch.padded);
            }
            for group in 0..options.groups {
                let block = if image_inner {
                    geo.channel_block_image_inner(g, images.clone(), group, &mut scratch.block)
                } else {
                    geo.channel_block(g, images.clone(), group, &mut scratch.block)
                };
                matmul_into(
                    (geo.patch(), geo.group_out(), width),
                    geo.filters(w, group),
                    true,
                    block,
                    false,
                    T::zero(),
                    &mut scratch.cols,
                );
                if image_inner {
                    geo.col2im_image_inner(&scratch.cols, images.len(), group, &mut scratch.padded);
                } else if geo.has_padding() {
                    geo.col2im(&scratch.cols, images.len(), group, &mut scratch.padded);
                } else {
                    geo.col2im(&scratch.cols, images.len(), group, part);
                }
            }
            if image_inner {
                geo.unpad_image_inner(&scratch.padded, images.len(), part);
            } else if geo.has_padding() {
                geo.add_unpadded(&scratch.padded, part);
            }
        });
        Tensor::from_parts(out, shape_of(&geo.input_shape()))
    }

    /// The gradient of a convolution with respect to its weight: from the convolution's input
    /// `self` (`[N, C, H, W]`) and the gradient `grad` of its output (`[N, O, H', W']`), the
    /// `[O, C / groups, kh, kw]` sum over the batch of `G·patchesᵀ`. It is the adjoint of
    /// [`Tensor::conv2d`] in its weight. PyTorch: `torch.nn.grad.conv2d_weight`.
    ///
    /// # Panics
    /// When `grad` is not the shape the convolution of `self` by a `kernel`-sized filter gives.
    ///
    /// ```
    /// use chainrule_autodiff::{Conv2dOptions, Tensor};
    /// let x = Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3]);
    /// let g = Tensor::ones(&[1, 1, 2, 2]);
    /// // With an all-ones gradient, each weight's gradient is the sum of the inputs it touched.
    /// let dw = x.conv2d_weight(&g, Conv2dOptions::new(), [2, 2]);
    /// assert_eq!(dw.to_vec(), vec![12.0, 16.0, 24.0, 28.0]);
    /// ```
    #[track_caller]
    pub fn conv2d_weight(
        &self,
        grad: &Tensor<T>,
        options: Conv2dOptions,
        kernel: [usize; 2],
    ) -> Tensor<T> {
        self.conv2d_weight_from(grad, options, kernel, None)
    }

    /// [`Tensor::conv2d_weight`], taking each chunk's patch matrix from `kept` (what the
    /// forward [`Tensor::conv2d_keeping`] of `self` kept) where it holds that chunk's, else
    /// building it as `conv2d_weight` does.
    #[track_caller]
    pub(crate) fn conv2d_weight_from(
        &self,
        grad: &Tensor<T>,
        options: Conv2dOptions,
        kernel: [usize; 2],
        kept: Option<&KeptPatches>,
    ) -> Tensor<T> {
        let out_channels = grad.shape().get(1).copied().unwrap_or(0);
        let groups = options.groups.max(1);
        let channels = self.shape().get(1).copied().unwrap_or(0);
        let weight = [out_channels, channels / groups, kernel[0], kernel[1]];
        let geo = Geometry::new("conv2d_weight", self.shape(), &weight, options);
        shape_assert!(
            grad.shape() == geo.output_shape(),
            "conv2d_weight: the gradient has shape {:?}, but convolving input shape {:?} by a {}×{} kernel gives {:?}",
            grad.shape(),
            self.shape(),
            kernel[0],
            kernel[1],
            geo.output_shape()
        );
        let (x, g) = (self.as_slice(), grad.as_slice());
        let total: usize = weight.iter().product();
        let size = geo.group_out() * geo.patch();
        let kept = kept.and_then(KeptPatches::get::<T>);
        let passes = geo.for_each_chunk(&mut [], 0, |images, scratch, _| {
            let width = images.len() * geo.out_plane();
            scratch.sum.resize(total, T::zero());
            let len = geo.patch() * width;
            let kept_columns = |group| kept.and_then(|p| p.columns((images.start, group), len));
            // The padded images only where some group's patches must be built again, laid out
            // as the forward laid out the patches it kept.
            let image_inner = geo.image_inner(images.len());
            let padded = if (0..options.groups).all(|group| kept_columns(group).is_some()) {
                &[]
            } else if image_inner {
                geo.padded_image_inner(x, images.clone(), &mut scratch.padded)
            } else {
                geo.padded(x, images.clone(), &mut scratch.padded)
            };
            for group in 0..options.groups {
                let columns = match kept_columns(group) {
                    Some(columns) => columns,
                    None => {
                        scratch.cols.resize(len, T::zero());
                        if image_inner {
                            geo.im2col_image_inner(padded, images.len(), group, &mut scratch.cols);
                        } else {
                            geo.im2col(padded, images.len(), group, &mut scratch.cols);
                        }
                        &scratch.cols
                    }
                };
                let block = if image_inner {
                    geo.channel_block_image_inner(g, images.clone(), group, &mut scratch.block)
                } else {
                    geo.channel_block(g, images.clone(), group, &mut scratch.block)
                };
                matmul_into(
                    (geo.group_out(), width, geo.patch()),
                    block,
                    false,
                    columns,
                    true,
                    T::one(),
                    &mut scratch.sum[group * size..(group + 1) * size],
                );
            }
        });
        // The passes' sums in order; a batch of no images has none.
        let mut passes = passes.into_iter();
        let mut out = passes.next().unwrap_or_default();
        out.resize(total, T::zero());
        for sum in passes {
            for (o, v) in out.iter_mut().zip(&sum) {
                *o += *v;
            }
        }
        Tensor::from_parts(out, shape_of(&geo.weight_shape()))
    }

    /// The maximum of each pooling window of an `[N, C, H, W]` batch (padding counts as `−∞`).
    /// PyTorch: `torch.nn.functional.max_pool2d`.
    ///
    /// # Panics
    /// When the input is not 4-D, the padding is more than half the window, or the window is
    /// larger than the padded input.
    ///
    /// ```
    /// use chainrule_autodiff::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec((1..=16).map(f64::from).collect(), &[1, 1, 4, 4]);
    /// let y = x.max_pool2d(Pool2dOptions::new(2));
    /// assert_eq!(y.to_vec(), vec![6.0, 8.0, 14.0, 16.0]);
    /// ```
    #[track_caller]
    pub fn max_pool2d(&self, options: Pool2dOptions) -> Tensor<T> {
        self.max_pool2d_with_indices(options).0
    }

    /// [`Tensor::max_pool2d`] and, for each output element, the index within its `H×W` plane
    /// (`row·W + column`) of the input element it took: the first of equal maxima, a NaN if the
    /// window holds one. PyTorch: `max_pool2d(…, return_indices=True)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f64, 3.0, 3.0, 2.0], &[1, 1, 2, 2]);
    /// let (y, at) = x.max_pool2d_with_indices(Pool2dOptions::new(2));
    /// assert_eq!((y.to_vec(), at), (vec![3.0], vec![1]));
    /// ```
    #[track_caller]
    pub fn max_pool2d_with_indices(&self, options: Pool2dOptions) -> (Tensor<T>, Vec<usize>) {
        let geo = PoolGeometry::new("max_pool2d", self.shape(), options);
        let mut indices = vec![0; geo.outputs()];
        (self.max_pool2d_into(geo, &mut indices), indices)
    }

    /// [`Tensor::max_pool2d_with_indices`] with the indices shared, as the graph keeps them:
    /// made at their final size and filled in place, which saves copying them.
    #[track_caller]
    pub(crate) fn max_pool2d_shared(&self, options: Pool2dOptions) -> (Tensor<T>, Arc<[usize]>) {
        let geo = PoolGeometry::new("max_pool2d", self.shape(), options);
        // An exact-length iterator collects into an `Arc` without an intermediate vector.
        let mut indices: Arc<[usize]> = std::iter::repeat_n(0, geo.outputs()).collect();
        let spots = Arc::get_mut(&mut indices).expect("a new Arc is unique");
        (self.max_pool2d_into(geo, spots), indices)
    }

    /// Max pooling over a checked window, writing into `indices` (one per output element) the
    /// index within its plane of the element each output took.
    ///
    /// Planes never meet, so a batch worth it is cut into runs of planes spread over the
    /// threads (see [`POOLED_ELEMENT_WORK`]); each plane is pooled by the same code either way.
    fn max_pool2d_into(&self, geo: PoolGeometry, indices: &mut [usize]) -> Tensor<T> {
        let x = self.as_slice();
        // −∞ to start from (see `max_pool_planes`).
        let mut out = vec![T::neg_infinity(); geo.outputs()];
        let (in_plane, out_plane) = (geo.in_plane(), geo.out[0] * geo.out[1]);
        let threads = threads_for_product(x.len().saturating_mul(POOLED_ELEMENT_WORK));
        if threads <= 1 || in_plane == 0 || out_plane == 0 {
            geo.max_pool_planes(x, &mut out, indices);
        } else {
            let per_part = geo.planes.div_ceil(threads);
            let parts: Vec<Mutex<PoolPart<'_, T>>> = x
                .chunks(per_part * in_plane)
                .zip(out.chunks_mut(per_part * out_plane))
                .zip(indices.chunks_mut(per_part * out_plane))
                .map(|((x, out), indices)| Mutex::new((x, out, indices)))
                .collect();
            run_claimed(parts.len(), threads, &|i| {
                let mut part = parts[i].lock().unwrap_or_else(|e| e.into_inner());
                let (x, out, indices) = &mut *part;
                geo.max_pool_planes(x, out, indices);
            });
        }
        let shape = [self.shape()[0], self.shape()[1], geo.out[0], geo.out[1]];
        Tensor::from_parts(out, shape_of(&shape))
    }

    /// The mean of each pooling window of an `[N, C, H, W]` batch, over the whole window with
    /// padding counted as zeros (PyTorch's default `count_include_pad=True`).
    /// PyTorch: `torch.nn.functional.avg_pool2d`.
    ///
    /// # Panics
    /// As for [`Tensor::max_pool2d`].
    ///
    /// ```
    /// use chainrule_autodiff::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec((1..=16).map(f64::from).collect(), &[1, 1, 4, 4]);
    /// let y = x.avg_pool2d(Pool2dOptions::new(2));
    /// assert_eq!(y.to_vec(), vec![3.5, 5.5, 11.5, 13.5]);
    /// ```
    #[track_caller]
    pub fn avg_pool2d(&self, options: Pool2dOptions) -> Tensor<T> {
        let geo = PoolGeometry::new("avg_pool2d", self.shape(), options);
        let x = self.as_slice();
        let scale = geo.area_inverse::<T>();
        let mut out = vec![T::zero(); geo.planes * geo.out[0] * geo.out[1]];
        let width = geo.width;
        geo.each_window(|plane, at, rows, cols| {
            let values = &x[plane * geo.in_plane()..][..geo.in_plane()];
            let mut sum = T::zero();
            for y in rows {
                sum += values[y * width + cols.start..y * width + cols.end]
                    .iter()
                    .fold(T::zero(), |s, &v| s + v);
            }
            out[at] = sum * scale;
        });
        let shape = [self.shape()[0], self.shape()[1], geo.out[0], geo.out[1]];
        Tensor::from_parts(out, shape_of(&shape))
    }

    /// The adjoint of [`Tensor::avg_pool2d`] onto an input of spatial size `size`: each element
    /// of `self` spread evenly over its window — average pooling's gradient.
    ///
    /// # Panics
    /// When `self` is not the shape pooling a `size` input gives.
    ///
    /// ```
    /// use chainrule_autodiff::{Pool2dOptions, Tensor};
    /// let g = Tensor::from_vec(vec![4.0f64], &[1, 1, 1, 1]);
    /// let dx = g.avg_pool2d_backward(Pool2dOptions::new(2), [2, 2]);
    /// assert_eq!(dx.to_vec(), vec![1.0; 4]);
    /// ```
    #[track_caller]
    pub fn avg_pool2d_backward(&self, options: Pool2dOptions, size: [usize; 2]) -> Tensor<T> {
        let dims = self.shape();
        shape_assert!(
            dims.len() == 4,
            "avg_pool2d_backward: the gradient must be 4-D [N, C, H', W'], got shape {dims:?}"
        );
        let input = [dims[0], dims[1], size[0], size[1]];
        let geo = PoolGeometry::new("avg_pool2d_backward", &input, options);
        shape_assert!(
            dims[2..] == geo.out,
            "avg_pool2d_backward: the gradient has shape {dims:?}, but pooling input shape {input:?} gives {:?}",
            [dims[0], dims[1], geo.out[0], geo.out[1]]
        );
        let g = self.as_slice();
        let scale = geo.area_inverse::<T>();
        let mut out = vec![T::zero(); input.iter().product()];
        let width = geo.width;
        geo.each_window(|plane, at, rows, cols| {
            let share = g[at] * scale;
            let values = &mut out[plane * geo.in_plane()..][..geo.in_plane()];
            for y in rows {
                for v in &mut values[y * width + cols.start..y * width + cols.end] {
                    *v += share;
                }
            }
        });
        Tensor::from_parts(out, shape_of(&input))
    }
}

/// How many of a matrix product's multiply-adds one input element of max pooling counts as,
/// when the products' threshold ([`crate::split_work`], 2²⁰ a thread) decides whether a pooling
/// is worth spreading over the threads: 64, so pooling splits from 2¹⁴ elements a thread.
///
/// Measured on the 2-core AMD EPYC (2026-12-01), 2×2 windows, helpers lingering as they are
/// after a training step's split products, best of 9: 1 thread against 2 with the split forced,
/// 4,096 elements 4.5 against 3.7 µs, 16,384 17.8 against 10.6, 32,768 (`conv-digits`' second
/// pooling) 39.5 against 22.1, 131,072 143 against 76. A pooled element takes ~1.1 ns, about
/// as long as 40 multiply-adds of a product at that machine's GEMM speed; 64 splits a little
/// later than that, at sizes that gained 1.7× or more.
pub(crate) const POOLED_ELEMENT_WORK: usize = 64;

/// One thread's share of a max pooling: its planes of the input, the output and the indices.
type PoolPart<'a, T> = (&'a [T], &'a mut [T], &'a mut [usize]);

/// Of the element at `first`, whose value `top` is at hand (it may be −∞ for "none yet"), and
/// the one at `second` of `values`, the index of the one max pooling takes (see [`beats`]).
///
/// Which element wins is data: as a branch it was mispredicted about half the time, which cost
/// more than the comparison itself. So the winner's index is a conditional move, and callers read
/// its value back through it (a select of floats compiles to a branch).
#[inline]
fn winner_over<T: Float>(values: &[T], first: usize, top: T, second: usize) -> usize {
    select_unpredictable(beats(values[second], top), second, first)
}

/// The common 2×2 max pooling with stride 2 over whole planes of even height and `width` (an
/// even number): each window's maximum into `out` and its in-plane index into `indices`,
/// `OUT_WIDTH` (`width / 2`) of them a row. Each row's pairs first, then the two winners under
/// each window, which keeps the first of equal maxima (and the first NaN) as the general walk
/// does: a window's upper pair comes before its lower one in that walk. Every pair of the
/// input is compared in one flat pass, which vectorises, before any window is decided, and
/// every choice is made without a branch. Done window by window, row by row (`halving_row`),
/// pooling took 7.5% of conv-digits' time at one thread; this way, 3.5%.
fn halving_planes<T: Float, const OUT_WIDTH: usize>(
    x: &[T],
    [height, width]: [usize; 2],
    out: &mut [T],
    indices: &mut [usize],
) {
    // The winner of each pair, and whether it was the right one: written once each, so not
    // zeroed first (zeroing them was 1.7% of conv-digits' time at one thread).
    let pairs = x.len() / 2;
    let mut winners: Vec<T> = Vec::with_capacity(pairs);
    let mut right: Vec<u32> = Vec::with_capacity(pairs);
    let slots = winners.spare_capacity_mut()[..pairs]
        .iter_mut()
        .zip(&mut right.spare_capacity_mut()[..pairs]);
    for (pair, (winner, is_right)) in x.chunks_exact(2).zip(slots) {
        let take_right = beats(pair[1], pair[0]);
        winner.write(select_unpredictable(take_right, pair[1], pair[0]));
        is_right.write(u32::from(take_right));
    }
    // SAFETY: the loop wrote the first `pairs` slots of both (`x` has `2·pairs` elements).
    unsafe {
        winners.set_len(pairs);
        right.set_len(pairs);
    }
    let rows = winners
        .chunks_exact(2 * OUT_WIDTH)
        .zip(right.chunks_exact(2 * OUT_WIDTH));
    let outputs = out
        .chunks_exact_mut(OUT_WIDTH)
        .zip(indices.chunks_exact_mut(OUT_WIDTH));
    let (out_rows, width_u32) = (height / 2, width as u32);
    // The output row within its plane, counted rather than divided out.
    let mut oy = 0;
    for ((winners, is_right), (tops, bests)) in rows.zip(outputs) {
        let (upper, lower): (&[T; OUT_WIDTH], &[T; OUT_WIDTH]) = split_pair(winners);
        let (upper_right, lower_right): (&[u32; OUT_WIDTH], &[u32; OUT_WIDTH]) =
            split_pair(is_right);
        let first = 2 * oy * width;
        oy += 1;
        if oy == out_rows {
            oy = 0;
        }
        for ox in 0..OUT_WIDTH {
            // Selected without a branch: which way a window goes is a coin toss on real data.
            let take_lower = beats(lower[ox], upper[ox]);
            tops[ox] = select_unpredictable(take_lower, lower[ox], upper[ox]);
            let at = select_unpredictable(take_lower, width_u32 + lower_right[ox], upper_right[ox]);
            bests[ox] = first + 2 * ox + at as usize;
        }
    }
}

/// The two halves of a slice of `2·N` elements, as arrays.
#[inline(always)]
fn split_pair<T, const N: usize>(both: &[T]) -> (&[T; N], &[T; N]) {
    let (a, b) = both.split_at(N);
    (
        a.try_into().expect("N elements"),
        b.try_into().expect("N elements"),
    )
}

/// One output row of the common 2×2 max pooling with stride 2, from the two input rows under
/// it (`upper` starting at index `first` of its planes, `lower` a row of `width` further):
/// each window's maximum into `tops` and its index into `bests`. A knockout of the two pairs,
/// which keeps the first of equal maxima (and the first NaN) as the general walk does. Values
/// are read from whole rows and no read waits on an earlier choice: as three calls of
/// [`winner_over`], each reading through the index the last one chose, pooling took 9.5% of
/// conv-digits' time at one thread, 7.2% this way.
#[inline]
fn halving_row<T: Float>(
    upper: &[T],
    lower: &[T],
    first: usize,
    width: usize,
    tops: &mut [T],
    bests: &mut [usize],
) {
    let pairs = upper.chunks_exact(2).zip(lower.chunks_exact(2));
    for (((slot, best), (up, low)), ox) in tops.iter_mut().zip(bests).zip(pairs).zip(0..) {
        let take_right = beats(up[1], up[0]);
        let (top, top_at) = if take_right { (up[1], 1) } else { (up[0], 0) };
        let take_right = beats(low[1], low[0]);
        let (bottom, bottom_at) = if take_right {
            (low[1], width + 1)
        } else {
            (low[0], width)
        };
        let take_bottom = beats(bottom, top);
        *slot = if take_bottom { bottom } else { top };
        *best = first + 2 * ox + if take_bottom { bottom_at } else { top_at };
    }
}

/// Whether max pooling takes `value` over `top`: when it is larger, or a NaN where `top` is not.
#[inline(always)]
// The negated comparison is the point: it is true when `value` is a NaN.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn beats<T: Float>(value: T, top: T) -> bool {
    // `(value > top) | (value.is_nan() & !top.is_nan())` in two comparisons rather than three.
    !(value <= top) & !top.is_nan()
}

/// The output size of a transposed convolution (PyTorch's formula).
#[track_caller]
pub(crate) fn transposed_output_size(
    input: &[usize],
    weight: &[usize],
    options: Conv2dOptions,
) -> [usize; 2] {
    let shapes = format!("input shape {input:?}, weight shape {weight:?}");
    shape_assert!(
        input.len() == 4 && weight.len() == 4,
        "conv_transpose2d: input and weight must be 4-D ({shapes})"
    );
    let mut size = [0; 2];
    for axis in 0..2 {
        let (stride, dilation) = (options.stride[axis], options.dilation[axis]);
        let extra = options.output_padding[axis];
        shape_assert!(
            stride >= 1 && dilation >= 1 && input[2 + axis] >= 1 && weight[2 + axis] >= 1,
            "conv_transpose2d: sizes, stride and dilation must be at least 1 (got {options:?}; {shapes})"
        );
        shape_assert!(
            extra < stride || extra < dilation,
            "conv_transpose2d: output padding {extra} must be smaller than the stride {stride} or the dilation {dilation} ({shapes})"
        );
        let full = (input[2 + axis] - 1) * stride + dilation * (weight[2 + axis] - 1) + extra + 1;
        let cut = 2 * options.padding[axis];
        shape_assert!(
            full > cut,
            "conv_transpose2d: the padding {} leaves no output ({shapes})",
            options.padding[axis]
        );
        size[axis] = full - cut;
    }
    size
}

/// The geometry of the convolution whose adjoint a transposed convolution of an
/// `input`-shaped batch to spatial `size` is, checked against the input's shape.
#[track_caller]
fn transposed_geometry(
    input: &[usize],
    weight: &[usize],
    options: Conv2dOptions,
    size: [usize; 2],
) -> Geometry {
    shape_assert!(
        input.len() == 4 && weight.len() == 4,
        "conv_transpose2d: input and weight must be 4-D (input shape {input:?}, weight shape {weight:?})"
    );
    let channels = weight[1] * options.groups;
    let image = [input[0], channels, size[0], size[1]];
    let geo = Geometry::new("conv_transpose2d", &image, weight, options);
    shape_assert!(
        input == geo.output_shape(),
        "conv_transpose2d: input shape {input:?} does not fit weight shape {weight:?} with output size {size:?} (a convolution of {image:?} gives {:?})",
        geo.output_shape()
    );
    geo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic, irregular values.
    fn values(shape: &[usize], seed: f64) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|i| ((i as f64 + seed) * 0.37).sin()).collect();
        Tensor::from_vec(data, shape)
    }

    /// The weight gradient from the patch matrices the forward kept is the one built afresh,
    /// to the bit (the same matrices in the same products), for plain, strided, padded and
    /// grouped convolutions; a convolution whose matrices would pass the limit keeps none.
    #[test]
    fn kept_patches_give_the_weight_gradient_built_afresh() {
        let cases = [
            ([2, 3, 6, 5], [4, 3, 3, 3], Conv2dOptions::new()),
            (
                [3, 4, 7, 7],
                [6, 2, 3, 2],
                Conv2dOptions::new().stride(2).padding(1).groups(2),
            ),
            ([1, 2, 5, 6], [2, 2, 2, 2], Conv2dOptions::new().dilation(2)),
        ];
        for (seed, (input, weight, options)) in cases.into_iter().enumerate() {
            let (x, w) = (values(&input, seed as f64), values(&weight, 10.0));
            let (y, kept) = x.conv2d_keeping(&w, None, options, true);
            assert_eq!(y.to_vec(), x.conv2d(&w, options).to_vec(), "{input:?}");
            assert!(!kept.is_empty(), "{input:?}: nothing kept");
            let g = values(y.shape(), 20.0);
            let kernel = [weight[2], weight[3]];
            let from_kept = x.conv2d_weight_from(&g, options, kernel, Some(&kept));
            let afresh = x.conv2d_weight(&g, options, kernel);
            assert_eq!(from_kept.to_vec(), afresh.to_vec(), "{input:?}");
        }
        // 64 channels, 3×3, 90×90 images: 576 × 8,100 patch elements, over 2²².
        let x = Tensor::<f32>::zeros(&[1, 64, 90, 90]);
        let w = Tensor::<f32>::zeros(&[1, 64, 3, 3]);
        let (_, kept) = x.conv2d_keeping(&w, None, Conv2dOptions::new(), true);
        assert!(kept.is_empty(), "a patch matrix over the limit was kept");
        let (_, kept) = values(&[1, 1, 4, 4], 0.0).conv2d_keeping(
            &values(&[1, 1, 2, 2], 0.0),
            None,
            Conv2dOptions::new(),
            false,
        );
        assert!(kept.is_empty(), "kept without being asked");
    }

    /// The convolution straight from its definition: seven nested loops.
    fn direct(x: &Tensor<f64>, w: &Tensor<f64>, o: Conv2dOptions) -> Tensor<f64> {
        let geo = Geometry::new("direct", x.shape(), w.shape(), o);
        let [n, _, h, wd] = geo.input_shape();
        let [oc, cg, kh, kw] = geo.weight_shape();
        let [oh, ow] = geo.out;
        let og = oc / o.groups;
        let mut out = vec![0.0; n * oc * oh * ow];
        for b in 0..n {
            for f in 0..oc {
                let group = f / og;
                for y in 0..oh {
                    for z in 0..ow {
                        let mut sum = 0.0;
                        for ci in 0..cg {
                            let ch = group * cg + ci;
                            for i in 0..kh {
                                for j in 0..kw {
                                    let iy = (y * o.stride[0] + i * o.dilation[0]) as isize
                                        - o.padding[0] as isize;
                                    let ix = (z * o.stride[1] + j * o.dilation[1]) as isize
                                        - o.padding[1] as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    sum += x.get(&[b, ch, iy as usize, ix as usize])
                                        * w.get(&[f, ci, i, j]);
                                }
                            }
                        }
                        out[((b * oc + f) * oh + y) * ow + z] = sum;
                    }
                }
            }
        }
        Tensor::from_vec(out, &[n, oc, oh, ow])
    }

    fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
        a.as_slice()
            .iter()
            .zip(b.as_slice())
            .map(|(x, y)| x * y)
            .sum()
    }

    /// Options from (stride, padding, dilation) pairs and groups.
    const fn options(
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
    ) -> Conv2dOptions {
        Conv2dOptions {
            stride,
            padding,
            dilation,
            groups,
            output_padding: [0, 0],
        }
    }

    /// Input shape, weight shape and options: plain, strided and dilated with groups, both at
    /// once on a tiny image, a kernel larger than the unpadded input, and a 1×1 stride-2 kernel.
    const CASES: [([usize; 4], [usize; 4], Conv2dOptions); 5] = [
        (
            [2, 3, 5, 6],
            [4, 3, 3, 2],
            options([1, 1], [0, 0], [1, 1], 1),
        ),
        (
            [1, 4, 7, 7],
            [6, 2, 3, 3],
            options([2, 1], [1, 2], [1, 2], 2),
        ),
        (
            [3, 2, 4, 5],
            [2, 1, 2, 2],
            options([3, 2], [1, 1], [2, 1], 2),
        ),
        (
            [2, 1, 3, 3],
            [1, 1, 5, 5],
            options([1, 1], [1, 1], [1, 1], 1),
        ),
        (
            [1, 3, 4, 4],
            [3, 3, 1, 1],
            options([2, 2], [0, 0], [1, 1], 1),
        ),
    ];

    #[test]
    fn im2col_convolution_matches_the_definition() {
        for (i, (xs, ws, o)) in CASES.iter().enumerate() {
            let (x, w) = (values(xs, i as f64), values(ws, 10.0 + i as f64));
            let fast = x.conv2d(&w, *o);
            let slow = direct(&x, &w, *o);
            assert_eq!(fast.shape(), slow.shape(), "case {i}");
            for (a, b) in fast.as_slice().iter().zip(slow.as_slice()) {
                assert!((a - b).abs() < 1e-12, "case {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn the_three_products_are_adjoints() {
        // ⟨conv(x, w), g⟩ = ⟨x, convᵀ(g, w)⟩ = ⟨w, conv_weight(x, g)⟩ for every geometry.
        for (i, (xs, ws, o)) in CASES.iter().enumerate() {
            let (x, w) = (values(xs, i as f64), values(ws, 3.0 + i as f64));
            let y = x.conv2d(&w, *o);
            let g = values(y.shape(), 7.0 + i as f64);
            let forward = dot(&y, &g);
            let dx = g.conv_transpose2d_to(&w, *o, [xs[2], xs[3]]);
            let dw = x.conv2d_weight(&g, *o, [ws[2], ws[3]]);
            assert!((forward - dot(&x, &dx)).abs() < 1e-10, "case {i} input");
            assert!((forward - dot(&w, &dw)).abs() < 1e-10, "case {i} weight");
        }
    }

    #[test]
    fn chunked_batches_match_one_image_at_a_time() {
        // A batch larger than one chunk goes through the copy paths; compare with per-image.
        let o = Conv2dOptions::new().padding(1);
        let x = values(&[40, 8, 30, 30], 1.0);
        let w = values(&[3, 8, 3, 3], 2.0);
        assert!(Geometry::new("t", x.shape(), w.shape(), o).chunk(1) < 20);
        let all = x.conv2d(&w, o);
        let first = x.narrow(0, 39, 1).conv2d(&w, o);
        assert_eq!(all.narrow(0, 39, 1).to_vec(), first.to_vec());
    }

    #[test]
    fn a_batch_laid_out_image_inner_gives_each_images_own_result() {
        // Several images of a chunk go through the image-inner layout, one image alone through
        // the image-by-image one. (Not to the bit: a product of one column may take another
        // of the library's kernels than one of three.) Kept patches must be laid out as the
        // weight gradient lays out patches built afresh: those agree to the bit.
        let bits = |t: &Tensor<f64>| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let off = |a: &Tensor<f64>, b: &Tensor<f64>| a.sub(b).map(f64::abs).max_all().item();
        for (i, (xs, ws, o)) in CASES.iter().enumerate() {
            let input = [3, xs[1], xs[2], xs[3]];
            let geo = Geometry::new("t", &input, ws, *o);
            assert!(geo.image_inner(3), "case {i} would not test it");
            let (x, w) = (values(&input, 3.0 + i as f64), values(ws, 1.0 + i as f64));
            let g = values(&geo.output_shape(), 2.0 + i as f64);
            let size = [xs[2], xs[3]];
            let (y, kept) = x.conv2d_keeping(&w, None, *o, true);
            let dx = g.conv_transpose2d_to(&w, *o, size);
            let kernel = [ws[2], ws[3]];
            let dw = x.conv2d_weight_from(&g, *o, kernel, Some(&kept));
            assert_eq!(
                bits(&dw),
                bits(&x.conv2d_weight(&g, *o, kernel)),
                "case {i} ∂W"
            );
            let mut dw_by_image = Tensor::zeros(ws);
            for image in 0..3 {
                let (x1, g1) = (x.narrow(0, image, 1), g.narrow(0, image, 1));
                let place = format!("case {i} image {image}");
                let y1 = x1.conv2d(&w, *o);
                assert!(off(&y.narrow(0, image, 1), &y1) < 1e-12, "{place} y");
                let dx1 = g1.conv_transpose2d_to(&w, *o, size);
                assert!(off(&dx.narrow(0, image, 1), &dx1) < 1e-12, "{place} ∂X");
                dw_by_image = dw_by_image.add(&x1.conv2d_weight(&g1, *o, kernel));
            }
            assert!(off(&dw, &dw_by_image) < 1e-9, "case {i} ∂W by image");
        }
    }

    #[test]
    fn working_memory_left_by_one_convolution_never_shows_in_the_next() {
        // NaN everywhere in the spare patch matrices, products and padded planes...
        let o = Conv2dOptions::new().padding(1);
        let poison = Tensor::from_vec(vec![f64::NAN; 2 * 3 * 5 * 5], &[2, 3, 5, 5]);
        let w = values(&[4, 3, 3, 3], 2.0);
        let g = values(&[2, 4, 5, 5], 3.0);
        assert!(poison.conv2d(&w, o).to_vec()[0].is_nan());
        assert!(g.conv_transpose2d(&w.map(|_| f64::NAN), o).to_vec()[0].is_nan());
        assert!(poison.conv2d_weight(&g, o, [3, 3]).to_vec()[0].is_nan());
        // ...then each of the three products, smaller and of the same size, and with no
        // input channels (an empty product, which must still write zeros).
        for shape in [[1, 3, 4, 4], [2, 3, 5, 5]] {
            let x = values(&shape, 1.0);
            let y = x.conv2d(&w, o);
            let expected = direct(&x, &w, o);
            let error = y.sub(&expected).map(f64::abs).max_all().item();
            assert!(error < 1e-12, "{shape:?}: off by {error}");
            let gy = values(y.shape(), 4.0);
            let dx = gy.conv_transpose2d(&w, o);
            let dw = x.conv2d_weight(&gy, o, [3, 3]);
            // The adjoint identities pin both down: <y', g> = <x', Wᵀg> = <W', dW>.
            let probe_x = values(x.shape(), 5.0);
            let probe_w = values(w.shape(), 6.0);
            assert!((dot(&dx, &probe_x) - dot(&probe_x.conv2d(&w, o), &gy)).abs() < 1e-9);
            assert!((dot(&dw, &probe_w) - dot(&x.conv2d(&probe_w, o), &gy)).abs() < 1e-9);
        }
        assert!(poison.conv2d(&w, o).to_vec()[0].is_nan());
        let empty = Tensor::<f64>::zeros(&[1, 0, 3, 3]).conv2d(&Tensor::zeros(&[2, 0, 1, 1]), o);
        assert_eq!(empty.to_vec(), vec![0.0; 2 * 5 * 5]);
    }

    #[test]
    fn transposed_output_size_follows_pytorch() {
        // PyTorch: ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1) maps 4 → 8.
        let g = Tensor::<f64>::ones(&[1, 1, 4, 4]);
        let w = Tensor::<f64>::ones(&[1, 1, 3, 3]);
        let o = Conv2dOptions::new().stride(2).padding(1).output_padding(1);
        assert_eq!(g.conv_transpose2d(&w, o).shape(), &[1, 1, 8, 8]);
    }

    #[test]
    fn max_pool_ties_go_to_the_first() {
        let x = Tensor::from_vec(vec![2.0f64, 2.0, 1.0, 2.0], &[1, 1, 2, 2]);
        let (_, at) = x.max_pool2d_with_indices(Pool2dOptions::new(2));
        assert_eq!(at, vec![0]);
    }

    #[test]
    fn max_pool_takes_what_a_plain_scan_of_each_window_takes() {
        // Few distinct values, so ties are everywhere, and some NaNs: the cases in which the
        // 2×2 paths (whole planes, for even sizes and output widths 1, 2, 4 and 8; row by row
        // otherwise) and the general one could differ from the rule.
        for [h, w] in [[7, 6], [8, 8], [4, 4], [2, 2], [16, 16], [6, 12], [5, 4]] {
            let planes = 2 * 3;
            let values: Vec<f64> = (0..planes * h * w)
                .map(|i| match (i * 37 + 11) % 17 {
                    0 | 5 | 9 => f64::NAN,
                    r => (r % 4) as f64,
                })
                .collect();
            let x = Tensor::from_vec(values, &[2, 3, h, w]);
            for kernel in 1..=3 {
                for stride in 1..=3 {
                    for padding in 0..=kernel / 2 {
                        let o = Pool2dOptions::new(kernel).stride(stride).padding(padding);
                        if kernel + 2 * padding > h.min(w) + 2 * padding || kernel > h.min(w) {
                            continue;
                        }
                        let (y, at) = x.max_pool2d_with_indices(o);
                        let [oh, ow] = [y.shape()[2], y.shape()[3]];
                        for plane in 0..planes {
                            let v = &x.as_slice()[plane * h * w..][..h * w];
                            for (oy, ox) in (0..oh).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
                                // The window's elements in row-major order; the first is taken,
                                // then any later one that is larger, or a NaN if none was yet.
                                let mut best: Option<usize> = None;
                                for ky in 0..kernel {
                                    for kx in 0..kernel {
                                        let iy = (oy * stride + ky) as isize - padding as isize;
                                        let ix = (ox * stride + kx) as isize - padding as isize;
                                        if !(0..h as isize).contains(&iy)
                                            || !(0..w as isize).contains(&ix)
                                        {
                                            continue;
                                        }
                                        let i = iy as usize * w + ix as usize;
                                        best = match best {
                                            Some(b)
                                                if !(v[i] > v[b]
                                                    || v[i].is_nan() && !v[b].is_nan()) =>
                                            {
                                                Some(b)
                                            }
                                            _ => Some(i),
                                        };
                                    }
                                }
                                let out = (plane * oh + oy) * ow + ox;
                                let best = best.expect("every window holds an element");
                                let place = format!("{h}×{w} {o:?} plane {plane} at ({oy}, {ox})");
                                assert_eq!(at[out], best, "{place}");
                                let got = y.as_slice()[out];
                                assert!(got == v[best] || got.is_nan() && v[best].is_nan());
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn padded_pools_ignore_or_count_the_padding() {
        let x = Tensor::from_vec(vec![-1.0f64, -2.0, -3.0, -4.0], &[1, 1, 2, 2]);
        let o = Pool2dOptions::new(2).stride(1).padding(1);
        // Max pooling never picks the padding, even when every value is negative.
        assert_eq!(x.max_pool2d(o).to_vec()[0], -1.0);
        // Average pooling divides by the whole window of 4.
        assert_eq!(x.avg_pool2d(o).to_vec()[0], -0.25);
    }

    #[test]
    #[should_panic(expected = "larger than the padded input 3×3")]
    fn kernel_larger_than_the_input_panics() {
        Tensor::<f64>::ones(&[1, 1, 3, 3])
            .conv2d(&Tensor::ones(&[1, 1, 4, 4]), Conv2dOptions::new());
    }

    #[test]
    #[should_panic(expected = "input shape [1, 3, 5, 5], weight shape [2, 2, 3, 3]")]
    fn channel_mismatch_names_both_shapes() {
        Tensor::<f64>::ones(&[1, 3, 5, 5])
            .conv2d(&Tensor::ones(&[2, 2, 3, 3]), Conv2dOptions::new());
    }
}
