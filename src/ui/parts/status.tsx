// Shared bits of page state: a failed load shown as an alert.
export function Failure({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}
