import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

export interface ControlProps {
  id: string;
  "aria-invalid": boolean;
  "aria-describedby"?: string;
}

/** A labelled control with its hint and its error message tied to it for screen readers. */
export function Field(props: { label: string; error?: string | null; hint?: string; children: (control: ControlProps) => ComponentChildren }) {
  const id = useId();
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={`field${props.error ? " invalid" : ""}`}>
      <label for={id}>{props.label}</label>
      {props.children({ id, "aria-invalid": Boolean(props.error), "aria-describedby": described || undefined })}
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="error" id={`${id}-error`} role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}
