//! What a plugin says about itself, checked before anything of it is stored: its name,
//! version, description and configuration schema are bounded and well-formed.

use super::LoadError;
use super::plugin::truncate;
use plaza_plugin_sdk::Descriptor;

/// Longest plugin description kept, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// Longest configuration schema kept, in bytes.
pub const MAX_CONFIG_SCHEMA_BYTES: usize = 16 * 1024;

/// Refuse a descriptor whose fields are out of bounds or malformed.
pub(super) fn check_descriptor(d: &Descriptor) -> Result<(), LoadError> {
    let ok_name = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok_name {
        return Err(LoadError::BadDescriptor {
            message: format!(
                "name {:?} must be 1-64 characters of a-z, 0-9 and -",
                truncate(d.name.clone(), 64)
            ),
        });
    }
    // A semantic version (1.2.3, 1.0.0-beta.1): its character set is 0-9, a-z, A-Z, `.`,
    // `-` and `+`, so a version is safe in paths, store keys and metric labels.
    if d.version.len() > 64 || semver::Version::parse(&d.version).is_err() {
        return Err(LoadError::BadDescriptor {
            message: format!(
                "version {:?} must be a semantic version (like 1.2.0), at most 64 characters",
                truncate(d.version.clone(), 64)
            ),
        });
    }
    if d.description.len() > MAX_DESCRIPTION_BYTES {
        return Err(LoadError::BadDescriptor {
            message: format!(
                "description is {} bytes; the limit is {MAX_DESCRIPTION_BYTES}",
                d.description.len()
            ),
        });
    }
    if d.config_schema.len() > MAX_CONFIG_SCHEMA_BYTES {
        return Err(LoadError::BadDescriptor {
            message: format!(
                "config schema is {} bytes; the limit is {MAX_CONFIG_SCHEMA_BYTES}",
                d.config_schema.len()
            ),
        });
    }
    if serde_json::from_str::<serde_json::Value>(&d.config_schema).is_err() {
        return Err(LoadError::BadDescriptor {
            message: "config schema is not JSON".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::Stage;

    fn descriptor(version: &str) -> Descriptor {
        Descriptor {
            name: "store-coupon".into(),
            version: version.into(),
            stage: Stage::Coupon,
            description: "a coupon".into(),
            config_schema: "{}".into(),
        }
    }

    #[test]
    fn versions_are_semantic_and_carry_no_path_control_or_escape_characters() {
        for good in ["1.0.0", "0.1.0", "2.3.4-beta.1", "1.0.0+build.7"] {
            assert_eq!(check_descriptor(&descriptor(good)), Ok(()), "{good}");
        }
        for bad in [
            "",
            "../a/b",
            "1.0.0\0",
            "1.0.0\nforged_metric 42",
            "\u{1b}[31m1.0.0",
            "1.0",
            "v1.0.0",
            &format!("1.0.0-{}", "a".repeat(80)),
        ] {
            assert!(
                matches!(
                    check_descriptor(&descriptor(bad)),
                    Err(LoadError::BadDescriptor { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn descriptions_and_schemas_are_bounded_before_they_are_stored() {
        let mut d = descriptor("1.0.0");
        d.description = "x".repeat(MAX_DESCRIPTION_BYTES + 1);
        assert!(check_descriptor(&d).is_err());
        let mut d = descriptor("1.0.0");
        d.config_schema = format!("\"{}\"", "x".repeat(MAX_CONFIG_SCHEMA_BYTES));
        assert!(check_descriptor(&d).is_err());
        let mut d = descriptor("1.0.0");
        d.name = "Store_Coupon".into();
        assert!(check_descriptor(&d).is_err());
    }
}
