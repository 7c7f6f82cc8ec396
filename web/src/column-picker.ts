/** The dataset's columns as a list: tick to include, move up or down to reorder (keyboard friendly). */
import type { ColumnDescription } from './api.js';

export class ColumnPicker {
  private columns: ColumnDescription[] = [];

  /** Where a move is said (the focus stays on its button, so nothing else tells). */
  private readonly announce = document.getElementById('columns-announce') as HTMLElement;

  constructor(private readonly list: HTMLOListElement) {
    list.addEventListener('click', (event) => {
      const button = (event.target as Element).closest('button');
      if (!button) return;
      const item = button.closest('li');
      if (item) this.move(item, button.dataset.move === 'up' ? -1 : 1, button.dataset.move ?? 'down');
    });
  }

  render(columns: readonly ColumnDescription[]): void {
    this.columns = [...columns];
    this.announce.textContent = '';
    this.list.replaceChildren(...columns.map((column, index) => this.item(column, index)));
    this.updateButtons();
  }

  get empty(): boolean {
    return this.columns.length === 0;
  }

  /** The ticked columns' keys in their order; undefined when it is the dataset's own choice. */
  selected(): string[] | undefined {
    const keys = [...this.list.querySelectorAll<HTMLInputElement>('input[type=checkbox]')]
      .filter((box) => box.checked)
      .map((box) => box.value);
    const unchanged =
      keys.length === this.columns.length && keys.every((key, i) => key === this.columns[i]?.key);
    return unchanged ? undefined : keys;
  }

  /** Whether at least one column is ticked (or the dataset declares none). */
  hasSelection(): boolean {
    return this.empty || this.list.querySelector('input[type=checkbox]:checked') !== null;
  }

  private item(column: ColumnDescription, index: number): HTMLLIElement {
    const name = column.header ?? column.key;
    const item = document.createElement('li');
    item.dataset.name = name;
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.value = column.key;
    box.id = `column-${index}`;
    // The name and its key in one box beside the checkbox, so that on a narrow screen the key
    // wraps to the next line whole instead of being squeezed into a box of its own.
    const text = document.createElement('span');
    text.append(name);
    if (column.header && column.header !== column.key) {
      const key = document.createElement('span');
      key.className = 'hint';
      key.textContent = `(${column.key})`;
      text.append(' ', key);
    }
    label.append(box, text);
    const up = this.moveButton('up', `Move ${name} up`, '↑');
    const down = this.moveButton('down', `Move ${name} down`, '↓');
    item.append(label, up, down);
    return item;
  }

  private moveButton(direction: 'up' | 'down', label: string, text: string): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'small';
    button.dataset.move = direction;
    button.setAttribute('aria-label', label);
    button.textContent = text;
    return button;
  }

  private move(item: HTMLLIElement, by: -1 | 1, direction: string): void {
    if (by < 0 && item.previousElementSibling) item.previousElementSibling.before(item);
    else if (by > 0 && item.nextElementSibling) item.nextElementSibling.after(item);
    this.updateButtons();
    const items = [...this.list.children];
    this.announce.textContent = `${item.dataset.name} is now column ${items.indexOf(item) + 1} of ${items.length}.`;
    // Focus stays on the button just used, so repeated presses keep moving the same column.
    const same = item.querySelector<HTMLButtonElement>(`button[data-move="${direction}"]`);
    const other = item.querySelector<HTMLButtonElement>(
      `button[data-move="${direction === 'up' ? 'down' : 'up'}"]`,
    );
    (same && !same.disabled ? same : other)?.focus();
  }

  private updateButtons(): void {
    const items = [...this.list.children];
    items.forEach((item, index) => {
      const up = item.querySelector<HTMLButtonElement>('button[data-move="up"]');
      const down = item.querySelector<HTMLButtonElement>('button[data-move="down"]');
      if (up) up.disabled = index === 0;
      if (down) down.disabled = index === items.length - 1;
    });
  }
}
