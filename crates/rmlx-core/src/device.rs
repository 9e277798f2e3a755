//! Devices, as MLX's `mx.Device` API on a build without a GPU backend: one device, the CPU.
//!
//! rmlx computes on the CPU only, so the default device is always `Device(cpu, 0)`, asking for a
//! GPU is an error (MLX's own message on a CPU-only build), and [`synchronize`] returns at once:
//! [`eval`](crate::eval) finishes its work before it returns, so nothing is ever outstanding.
//!
//! ```
//! use rmlx_core::{self as mx, Device, DeviceType};
//! assert_eq!(mx::default_device(), Device::cpu());
//! assert_eq!(mx::device_count(DeviceType::Gpu), 0);
//! assert!(mx::set_default_device(Device::new(DeviceType::Gpu, 0)).is_err());
//! assert_eq!(Device::cpu().to_string(), "Device(cpu, 0)");
//! # Ok::<(), mx::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::{bail, Result};

/// The kind of a [`Device`] (MLX's `mx.DeviceType`; `mx.cpu` and `mx.gpu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// The CPU: the device rmlx computes on.
    Cpu,
    /// A GPU: not available in rmlx.
    Gpu,
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceType::Cpu => "cpu",
            DeviceType::Gpu => "gpu",
        })
    }
}

/// A device: its type and index (MLX's `mx.Device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Device {
    /// The kind of device.
    pub device_type: DeviceType,
    /// Which device of that kind.
    pub index: usize,
}

impl Device {
    /// The device `index` of kind `device_type` (`mx.Device(type, index)`).
    pub fn new(device_type: DeviceType, index: usize) -> Device {
        Device { device_type, index }
    }

    /// The CPU, `Device(cpu, 0)` (`mx.cpu`).
    pub fn cpu() -> Device {
        Device::new(DeviceType::Cpu, 0)
    }
}

impl PartialEq<DeviceType> for Device {
    /// `Device(cpu, 0) == mx.cpu`, as MLX compares a device with a device type.
    fn eq(&self, other: &DeviceType) -> bool {
        self.device_type == *other
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Device({}, {})", self.device_type, self.index)
    }
}

/// The device new arrays are computed on: always the CPU (`mx.default_device()`).
pub fn default_device() -> Device {
    Device::cpu()
}

/// Sets the default device (`mx.set_default_device`): the CPU is accepted, a GPU is an error.
pub fn set_default_device(device: Device) -> Result<()> {
    if !is_available(&device) {
        bail!(
            Value,
            "[set_default_device] Cannot set {device} without a {} backend (rmlx computes on the CPU)",
            device.device_type
        );
    }
    Ok(())
}

/// The number of devices of a kind (`mx.device_count`): one CPU, no GPU.
pub fn device_count(device_type: DeviceType) -> usize {
    match device_type {
        DeviceType::Cpu => 1,
        DeviceType::Gpu => 0,
    }
}

/// Whether a device can be used (`mx.is_available`): the CPU can, a GPU cannot.
pub fn is_available(device: &Device) -> bool {
    device.device_type == DeviceType::Cpu && device.index < device_count(DeviceType::Cpu)
}

/// What is known of a device (`mx.device_info`): for the CPU its `architecture` and
/// `device_name` (the processor's model name where the system reports it). `None` is the default
/// device; an unavailable device is an error.
pub fn device_info(device: Option<&Device>) -> Result<BTreeMap<String, String>> {
    let d = device.copied().unwrap_or_else(default_device);
    if !is_available(&d) {
        bail!(Value, "[device_info] {d} is not available");
    }
    let name = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "cpu".to_string());
    Ok(BTreeMap::from([
        (
            "architecture".to_string(),
            std::env::consts::ARCH.to_string(),
        ),
        ("device_name".to_string(), name),
    ]))
}

/// Waits for all work on the default device (`mx.synchronize`). rmlx's [`eval`](crate::eval)
/// returns when its work is done, so there is never outstanding work and this returns at once.
pub fn synchronize() {}

/// The bytes the allocator holds for the buffers behind `arrays`, each buffer counted once (views
/// share theirs), whole blocks (`mx.get_array_buffer_size`). The arrays must be evaluated.
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype};
/// let a = mx::ones(&[10], Dtype::F32)?;
/// a.eval()?;
/// let t = a.t()?; // a view: the same buffer
/// t.eval()?;
/// assert_eq!(mx::get_array_buffer_size(&[&a, &t])?, 64);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn get_array_buffer_size(arrays: &[&crate::Array]) -> Result<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0usize;
    for a in arrays {
        if !a.is_evaluated() {
            bail!(
                Value,
                "[get_array_buffer_size] Arrays must be evaluated before querying buffer size."
            );
        }
        let (bytes, id) = a.data()?.buffer_allocation();
        if seen.insert(id) {
            total = total.saturating_add(bytes);
        }
    }
    Ok(total)
}
