"""A cut-down upstream samba spec (CentOS 7's samba-4.6.2-12, its shape kept where seed
000's samba.spec.patch edits it): the demo upstream's samba and the rebase tests build
it, and config/patches/samba/samba.spec.patch applies to it as to the real one."""

from __future__ import annotations

SAMBA_SPEC = r"""%global with_internal_ldb 0
%global libwbc_alternatives_suffix -64

%global with_mitkrb5 1
%global with_dc 0

%if %{with testsuite}
# The testsuite only works with a full build right now.
%global with_dc 1
%endif
%global with_clustering_support 0
%global samba_depver %{version}-%{release}

Name: samba
Version: 4.6.2
Release: 12%{?dist}
Summary: Server and Client software to interoperate with Windows machines
License: GPLv3+
BuildArch: noarch
Source0: %{name}-%{version}.tar.gz
# Debian's rpm has no systemd macros; CentOS 7 defines this one.
%{!?_unitdir:%global _unitdir /usr/lib/systemd/system}

%description
Samba for tests.

%package libs
Summary: Samba libraries
Group: Applications/System

%description libs
Samba libraries for tests.

%package python
Summary: Samba Python libraries
Group: Applications/System
Requires: %{name}-libs = %{samba_depver}
Requires: python-tevent
Requires: python-tdb
Requires: pyldb
Requires: pytalloc

Provides: samba4-python = %{samba_depver}

%description python
Samba Python libraries for tests.

%prep
%setup -q

%build

%install

install -d -m 0755 %{buildroot}%{_unitdir}
for i in nmb smb winbind ; do
@SED_LINE@
    install -m 0644 tmp$i.service %{buildroot}%{_unitdir}/$i.service
%if %with_clustering_support
    echo clustering
%endif
done

%files
%{_unitdir}

%files libs

%files python

%changelog
* Tue Oct 31 2017 CentOS Sources <bugs@centos.org> - 4.6.2-12
- Upstream release 4.6.2-12
""".replace("@SED_LINE@", "    cat packaging/systemd/$i.service | sed -e 's@\\[Service\\]@[Service]"
            "\\nEnvironment=KRB5CCNAME=FILE:/run/samba/krb5cc_samba@g' >tmp$i.service")

# What its %install reads from the source tarball.
SERVICE = "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n"
TARBALL_FILES = {f"packaging/systemd/{unit}.service": SERVICE
                 for unit in ("nmb", "smb", "winbind", "samba")}
