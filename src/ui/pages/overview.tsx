// Overview: needs the control plane's admin API (/admin/v1), which this build does not have yet.
export function Overview() {
  return <p class="lede">This page needs the control plane (the store and /admin/v1), which is not part of this build yet.</p>;
}
