import { render } from 'preact';
import { App } from './app';
import { loadSession } from './state/session';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  render(<App />, root);
  void loadSession();
}
