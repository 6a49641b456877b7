//! The secret key file must be readable by its owner only: a key that any local account can
//! read lets that account find and unseal every stored IIN and phone. A file whose mode gives
//! any permission to the group or to others is refused with the command that fixes it (as
//! OpenSSH refuses a private key with such a mode).

use std::io;
use std::path::Path;

/// Reads the key file, refusing it when its permissions let others read or change it.
pub fn read_private(path: &Path) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the key file's mode is {:o}: others may read it; refusing it (run `chmod 600 {}`)",
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    io::read_to_string(file)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refuses_a_key_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "secret\n").unwrap();
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o644, false),
            (0o640, false),
            (0o604, false),
            (0o620, false),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let r = read_private(&path);
            assert_eq!(r.is_ok(), ok, "{mode:o}");
            if let Err(e) = r {
                assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
                assert!(e.to_string().contains("chmod 600"));
            } else {
                assert_eq!(r.unwrap(), "secret\n");
            }
        }
        assert_eq!(
            read_private(&dir.path().join("none")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
